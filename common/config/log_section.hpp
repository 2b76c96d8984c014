// The [log] section, the same in both programs' config files.
#pragma once

#include <string>

namespace burrow {

struct log_config {
    std::string level = "info";  // trace, debug, info, warn, error, off
};

namespace config_reader {
class table_reader;
// Reads root's [log] table into `log` (for the schema loaders).
void read_log(table_reader& root, log_config& log);
}  // namespace config_reader

}  // namespace burrow
