#include "common/cli.hpp"

#include <cstdio>
#include <string_view>

#include <fmt/format.h>

#include "common/config.hpp"

namespace burrow {

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
        } else if (a == "-c" || a == "--config" || a.starts_with("--config=")) {
            value(out.config);
        } else if (a == "-l" || a == "--log-level" || a.starts_with("--log-level=")) {
            value(out.log_level);
        } else if (!a.starts_with("-") && out.command.empty() && out.config.empty()) {
            bool known = false;
            for (const auto& c : commands) known = known || c == a;
            if (!known) out.error = fmt::format("unknown command '{}'", a);
            out.command = std::string(a);
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
        for (const auto& p : ce->problems()) std::fprintf(stderr, "%s\n", p.to_string().c_str());
        std::fprintf(stderr, "%s: %zu problem(s) in the configuration\n", prog,
                     ce->problems().size());
        return 1;
    }
    std::fprintf(stderr, "%s: %s\n", prog, e.what());
    return 1;
}

}  // namespace burrow
