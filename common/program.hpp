// The body of both main()s: argv -> config -> run until a signal.
#pragma once

#include <cstddef>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "common/cli.hpp"
#include "common/log.hpp"
#include "common/net_util.hpp"

#ifndef BURROW_VERSION
#define BURROW_VERSION "dev"
#endif

namespace burrow {

// Process-wide settings both programs start with: allocator thresholds,
// Abseil's mutex deadlock detection off, the descriptor limit raised to its
// hard limit.
void tune_process();

// The descriptor limit (RLIMIT_NOFILE) in force, for limits derived from it.
std::size_t open_files_limit();

// A command beyond running and `verify` (burrow-client connect NAME): what it
// runs on the loaded config and its operands, returning the exit code.
template <class Config>
struct program_command {
    std::string name;
    std::string synopsis;  // "connect -c FILE NAME"
    std::string help;      // one line
    std::size_t operands = 0;
    std::function<int(std::shared_ptr<const Config>, const cli_args&)> run;
};

// `load` reads and validates the config (throws config_error); App is
// constructed from it and has start() and run_until_signal().
template <class App, class Load,
          class Config = std::decay_t<std::invoke_result_t<Load, const std::string&>>>
int run_program(const char* prog, const char* what_it_runs, int argc, char** argv, Load load,
                const std::vector<program_command<Config>>& more = {}) {
    std::string more_usage, more_help;
    std::vector<std::string> names{"verify"};
    for (const auto& c : more) {
        more_usage += fmt::format("       {} {}\n", prog, c.synopsis);
        more_help += fmt::format("  {:<14} {}\n", c.name, c.help);
        names.push_back(c.name);
    }
    const std::string usage = fmt::format(R"(usage: {0} [verify] -c FILE [-l LEVEL]
{2}
  (no command)   {1}
  verify         check the configuration file, print problems, exit 0 or 1
{3}
  -c, --config FILE      configuration file (TOML)
  -l, --log-level LEVEL  trace, debug, info, warn, error or off (overrides [log] level)
      --json             (status, nat) print JSON
  -v, --version          print the version
  -h, --help             print this help
)", prog, what_it_runs, more_usage, more_help);
    tune_process();

    auto args = parse_cli(argc, argv, names);
    const program_command<Config>* command = nullptr;
    for (const auto& c : more)
        if (c.name == args.command) command = &c;
    const std::size_t operands = command ? command->operands : 0;
    if (args.error.empty() && args.operands.size() != operands)
        args.error = args.operands.size() > operands
                         ? fmt::format("unexpected argument '{}'", args.operands[operands])
                         : fmt::format("{} needs {} argument(s)", args.command, operands);
    if (args.help) return std::fputs(usage.c_str(), stdout), 0;
    if (args.version) return std::printf("%s %s\n", prog, BURROW_VERSION), 0;
    if (!args.error.empty()) {
        std::fprintf(stderr, "%s: %s\n%s", prog, args.error.c_str(), usage.c_str());
        return 2;
    }
    try {
        auto config = load(args.config);
        if (args.command == "verify") {
            std::printf("%s: ok\n", args.config.c_str());
            return 0;
        }
        const std::string level = args.log_level.empty() ? config.log.level : args.log_level;
        if (!log::set_level(level)) {
            std::fprintf(stderr, "%s: unknown log level '%s'\n", prog, level.c_str());
            return 2;
        }
        log::route_grpc_logs();
        if (command)
            return command->run(std::make_shared<const Config>(std::move(config)), args);
        // Every connection costs a descriptor: the number bounds what the process can carry.
        log::get("main").info("open files limit: {}", open_files_limit());
        // The App runs on an immutable snapshot of the config: whatever keeps it
        // holds the shared_ptr, so a later reload cannot leave it dangling.
        App app(std::make_shared<const decltype(config)>(std::move(config)));
        // Caught from before the program says it listens; SIGHUP reloads
        // where the program can (App::reload).
        signal_watch signals(requires { app.reload(); });
        app.start();
        app.run_until_signal(signals);
        return 0;
    } catch (const std::exception& e) {
        return report_startup_error(prog, e);
    }
}

}  // namespace burrow
