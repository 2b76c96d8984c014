#include "common/cli.hpp"

#include <cstdio>
#include <string_view>

#include <fmt/format.h>

#include "common/config/problem.hpp"

namespace burrow {

namespace {

// A problem line as printed: control characters escaped, and at most a few
// hundred characters, cut in the middle so that both the place (file, line,
// key) and the explanation at the end stay. A config file may hold anything,
// and some messages quote what it holds.
std::string shown(std::string_view line) {
    constexpr std::size_t head = 240, tail = 120;
    std::string out;
    auto add = [&out](std::string_view part) {
        for (char c : part) {
            const auto u = static_cast<unsigned char>(c);
            if (u < 0x20 || u == 0x7f)
                out += fmt::format("\\x{:02x}", u);
            else
                out += c;
        }
    };
    if (line.size() <= head + tail + 16) {
        add(line);
    } else {
        add(line.substr(0, head));
        out += fmt::format(" ...({} characters left out)... ", line.size() - head - tail);
        add(line.substr(line.size() - tail));
    }
    return out;
}

}  // namespace

cli_args parse_cli(int argc, char** argv, const std::vector<std::string>& commands) {
    cli_args out;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        auto value = [&](std::string& dst) {
            if (auto eq = a.find('='); eq != std::string_view::npos && a.starts_with("--")) {
                dst = std::string(a.substr(eq + 1));
                return;
            }
            if (i + 1 >= argc) {
                out.error = fmt::format("{} needs a value", a);
                return;
            }
            dst = argv[++i];
        };
        if (a == "-h" || a == "--help") {
            out.help = true;
        } else if (a == "-v" || a == "--version") {
            out.version = true;
        } else if (a == "--json") {
            out.json = true;
        } else if (a == "-c" || a == "--config" || a.starts_with("--config=")) {
            value(out.config);
        } else if (a == "-l" || a == "--log-level" || a.starts_with("--log-level=")) {
            value(out.log_level);
        } else if (!a.starts_with("-") && out.command.empty() && out.config.empty()) {
            bool known = false;
            for (const auto& c : commands) known = known || c == a;
            if (!known) out.error = fmt::format("unknown command '{}'", a);
            out.command = std::string(a);
        } else if (!a.starts_with("-") && !out.command.empty()) {
            out.operands.emplace_back(a);
        } else {
            out.error = fmt::format("unknown argument '{}'", a);
        }
        if (!out.error.empty()) return out;
    }
    if (!out.help && !out.version && out.config.empty())
        out.error = "missing -c FILE (the configuration file)";
    return out;
}

int report_startup_error(const char* prog, const std::exception& e) {
    if (auto* ce = dynamic_cast<const config_error*>(&e)) {
        for (const auto& p : ce->problems())
            std::fprintf(stderr, "%s\n", shown(p.to_string()).c_str());
        std::fprintf(stderr, "%s: %zu problem(s) in the configuration\n", prog,
                     ce->problems().size());
        return 1;
    }
    std::fprintf(stderr, "%s: %s\n", prog, shown(e.what()).c_str());
    return 1;
}

}  // namespace burrow
