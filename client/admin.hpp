// The running client's admin API (DESIGN.md §3): a Unix socket whose path is
// derived from the config file's absolute path, so that `burrow-client status
// -c F` finds the client started with F and several clients on one host never
// collide. Only its owner may connect (mode 0600). Or, with `[admin] port`, a
// TCP port on a loopback address (anyone on the host may connect). One
// request per connection, one line ("status json" or "status text"); the
// answer follows and the connection closes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

namespace burrow {

struct client_config;
struct cli_args;

// $XDG_RUNTIME_DIR (or /tmp)/burrow-client-<16 hex of SHA-256(absolute path)>.sock
std::string admin_socket_path(const std::string& config_file);

// Where the admin API of the client started with `config` listens.
struct admin_address {
    std::string path;  // a Unix socket, or
    std::string host;  // a loopback TCP address and port
    std::uint16_t port = 0;
    std::string describe() const;
};
admin_address admin_address_of(const client_config& config);

class admin_server {
public:
    // Answers a request line ("status json") with the reply text.
    using answer = std::function<std::string(const std::string& request)>;
    admin_server(boost::asio::any_io_executor ex, admin_address at, answer a);
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

// `burrow-client reload -c F`: F has no errors (or it is refused here, as
// `verify` would print), and the client started with F reads it again and
// applies it (client/reload.hpp); prints its answer. Exit code 0 once it
// reloaded, 1 otherwise.
int run_reload(std::shared_ptr<const client_config> config, const cli_args& args);

}  // namespace burrow
