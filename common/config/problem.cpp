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

}  // namespace burrow
