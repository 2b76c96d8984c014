// burrow-client: parses argv and runs the library.
#include "client/client.hpp"
#include "common/config/client.hpp"
#include "common/program.hpp"

int main(int argc, char** argv) {
    return burrow::run_program<burrow::client>(
        "burrow-client", "connect to the server and serve the configured proxies", argc, argv,
        burrow::load_client_config);
}
