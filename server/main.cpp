// burrow-server: parses argv and runs the library.
#include "common/config.hpp"
#include "common/program.hpp"
#include "server/server.hpp"

int main(int argc, char** argv) {
    static constexpr const char* usage = R"(usage: burrow-server [verify] -c FILE [-l LEVEL]

  (no command)   run the server
  verify         check the configuration file, print problems, exit 0 or 1

  -c, --config FILE      configuration file (TOML)
  -l, --log-level LEVEL  trace, debug, info, warn, error or off (overrides [log] level)
  -v, --version          print the version
  -h, --help             print this help
)";
    return burrow::run_program<burrow::server>("burrow-server", usage, argc, argv,
                                               burrow::load_server_config);
}
