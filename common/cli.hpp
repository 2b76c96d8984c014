// Command-line parsing shared by burrow-server and burrow-client:
//   PROG [COMMAND] -c FILE [-l LEVEL] [OPERAND...]   |   PROG --version   |   PROG --help
#pragma once

#include <string>
#include <vector>

namespace burrow {

struct cli_args {
    std::string command;     // "" = run
    std::string config;      // -c / --config
    std::string log_level;   // -l / --log-level; "" = from config
    bool help = false;
    bool version = false;
    bool json = false;       // --json (status)
    std::vector<std::string> operands;  // after a command (connect NAME)
    std::string error;       // non-empty when argv is malformed
};

// `commands` lists the accepted sub-commands besides running.
cli_args parse_cli(int argc, char** argv, const std::vector<std::string>& commands);

// Prints problems of a config_error to stderr and returns 1; any other
// exception is printed as one line. For main()'s catch blocks.
int report_startup_error(const char* prog, const std::exception& e);

}  // namespace burrow
