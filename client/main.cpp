// burrow-client: parses argv and runs the library.
#include "client/client.hpp"
#include "common/config.hpp"
#include "common/program.hpp"

int main(int argc, char** argv) {
    static constexpr const char* usage = R"(usage: burrow-client [verify] -c FILE [-l LEVEL]

  (no command)   connect to the server and serve the configured proxies
  verify         check the configuration file, print problems, exit 0 or 1

  -c, --config FILE      configuration file (TOML)
  -l, --log-level LEVEL  trace, debug, info, warn, error or off (overrides [log] level)
  -v, --version          print the version
  -h, --help             print this help
)";
    return burrow::run_program<burrow::client>("burrow-client", usage, argc, argv,
                                               burrow::load_client_config);
}
