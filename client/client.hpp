// burrow-client as a library: keeps a control session to the server alive,
// reconnecting with capped exponential backoff, and serves its proxies.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

namespace burrow {

struct client_config;
struct visit_context;
class signal_watch;

class client {
public:
    // `config` is the immutable snapshot the client runs with; it keeps a reference.
    explicit client(std::shared_ptr<const client_config> config);
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // Validates certificates/credentials and starts connecting. Throws
    // std::runtime_error with a one-line explanation.
    void start();
    // Blocks until SIGINT/SIGTERM, then drains and stops.
    void run_until_signal(signal_watch& signals);
    // Reads the config file again and applies what changed (client/reload.hpp):
    // SIGHUP and `burrow-client reload`. Returns the outcome as logged.
    std::string reload();
    // Stops accepting (visitors, and the server closes our proxies) and
    // waits up to shutdown_timeout for open connections to finish.
    void drain();
    void stop();

    // For `burrow-client connect`: waits until the client has logged in
    // (false when `timeout` passed first); what a visit needs; where it runs.
    bool wait_until_logged_in(std::chrono::milliseconds timeout);
    visit_context visits();
    boost::asio::any_io_executor executor();
    // The server's rendezvous port, from the last login (0 = none).
    std::uint16_t rendezvous_port() const;

    // For one-shot commands (connect, nat): `config` without its proxies,
    // listeners, Work streams or admin API (a running client may use the same
    // file), started and logged in. Logs why and returns null when the login
    // did not succeed within the dial timeout and 5 s.
    static std::unique_ptr<client> log_in_once(const client_config& config, const char* logger,
                                               const std::string& tag);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace burrow
