// burrow-server: parses argv and runs the library.
#include "common/config/server.hpp"
#include "common/program.hpp"
#include "server/server.hpp"

int main(int argc, char** argv) {
    return burrow::run_program<burrow::server>("burrow-server", "run the server", argc, argv,
                                               burrow::load_server_config);
}
