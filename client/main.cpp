// burrow-client: parses argv and runs the library.
#include "client/admin.hpp"
#include "client/client.hpp"
#include "client/connect.hpp"
#include "client/nat.hpp"
#include "common/config/client.hpp"
#include "common/program.hpp"

int main(int argc, char** argv) {
    using burrow::client_config;
    return burrow::run_program<burrow::client>(
        "burrow-client", "connect to the server; serve the configured proxies and visitors",
        argc, argv, burrow::load_client_config,
        {{"connect", "connect -c FILE NAME",
          "the visitor NAME on stdin/stdout (ssh -o ProxyCommand=...)", 1, burrow::run_connect},
         {"nat", "nat -c FILE [--json]",
          "this network's NAT behaviour as the server sees it (for direct paths)", 0,
          burrow::run_nat},
         {"status", "status -c FILE [--json]",
          "the running client's proxies, visitors and open sessions", 0, burrow::run_status},
         {"reload", "reload -c FILE",
          "the running client reads FILE again: proxies and visitors added, removed, changed", 0,
          burrow::run_reload}});
}
