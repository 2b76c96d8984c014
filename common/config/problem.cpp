#include "common/config/problem.hpp"

#include <utility>

#include <fmt/format.h>

namespace burrow {

std::string config_problem::to_string() const {
    std::string out = file;
    if (line != 0) out += fmt::format(":{}:{}", line, column);
    out += ": ";
    if (!key.empty()) {
        out += key;
        out += ": ";
    }
    out += message;
    return out;
}

namespace {

std::string join_problems(const std::vector<config_problem>& problems) {
    std::string out;
    for (const auto& p : problems) {
        if (!out.empty()) out += '\n';
        out += p.to_string();
    }
    return out;
}

}  // namespace

config_error::config_error(std::vector<config_problem> problems)
    : std::runtime_error(join_problems(problems)), problems_(std::move(problems)) {}

std::vector<std::string> reload_refusal(const std::string& file, const std::function<void()>& load) {
    std::vector<std::string> lines;
    try {
        load();
        return lines;
    } catch (const config_error& e) {
        for (const auto& p : e.problems()) lines.push_back("  " + p.to_string());
    } catch (const std::exception& e) {
        lines.push_back(std::string("  ") + e.what());
    }
    lines.insert(lines.begin(),
                 "reload of " + file + " refused; running on with the config as it was:");
    return lines;
}

}  // namespace burrow
