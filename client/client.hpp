// burrow-client as a library: keeps a control session to the server alive,
// reconnecting with capped exponential backoff, and serves its proxies.
#pragma once

#include <memory>

namespace burrow {

struct client_config;

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
    // Blocks until SIGINT/SIGTERM, then stops.
    void run_until_signal();
    void stop();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace burrow
