// burrow-server as a library: everything main() and the tests need.
#pragma once

#include <cstdint>
#include <memory>

namespace burrow {

struct server_config;
class signal_watch;

class server {
public:
    // `config` is the immutable snapshot the server runs with; it keeps a reference.
    explicit server(std::shared_ptr<const server_config> config);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Prepares certificates, binds the client listener and starts serving.
    // Throws std::runtime_error with a one-line explanation.
    void start();
    // The port clients connect to (resolved when bind_port is 0).
    std::uint16_t port() const;
    // Blocks until SIGINT/SIGTERM, reloading the config file on SIGHUP; then stops.
    void run_until_signal(signal_watch& signals);
    // Reads the config file again and applies what can change while running
    // (server/reload.hpp); a file with errors changes nothing. Logs the outcome.
    void reload();
    // Stops serving: clients are disconnected, listeners closed. Idempotent.
    void stop();

private:
    void drain();

    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace burrow
