// The running client's admin API (DESIGN.md §3): a Unix socket whose path is
// derived from the config file's absolute path, so that `burrow-client status
// -c F` finds the client started with F and several clients on one host never
// collide. Only its owner may connect (mode 0600). One request per
// connection, one line ("status json" or "status text"); the answer follows
// and the connection closes.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

namespace burrow {

struct client_config;
struct cli_args;

// $XDG_RUNTIME_DIR (or /tmp)/burrow-client-<16 hex of SHA-256(absolute path)>.sock
std::string admin_socket_path(const std::string& config_file);

class admin_server {
public:
    // Answers a request line ("status json") with the reply text.
    using answer = std::function<std::string(const std::string& request)>;
    admin_server(boost::asio::any_io_executor ex, std::string path, answer a);
    ~admin_server();
    // Binds, or throws std::runtime_error naming the path (another client
    // runs with this config; no room for the socket).
    void start();
    void stop();

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

// `burrow-client status -c F [--json]`: asks the client started with F and
// prints its answer. Exit code 0, or 1 when no client runs with F.
int run_status(std::shared_ptr<const client_config> config, const cli_args& args);

}  // namespace burrow
