// The sections both programs' config files have: [auth] and [log].
#pragma once

#include <string>

namespace burrow {

struct log_config {
    std::string level = "info";  // trace, debug, info, warn, error, off
};

namespace config_reader {
class table_reader;
// Reads root's [auth] table: `token`, required and non-empty.
void read_auth(table_reader& root, std::string& token);
// Reads root's [log] table into `log`.
void read_log(table_reader& root, log_config& log);
}  // namespace config_reader

}  // namespace burrow
