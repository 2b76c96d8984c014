// Small helpers shared by the data and control paths.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

namespace spdlog {
class logger;
}

namespace burrow {

// Errors that end a connection in the ordinary way (peer closed, reset,
// cancelled); they are not failures worth a warning.
bool is_expected_error(const boost::system::error_code& ec);

// A non-blocking operation that would have had to wait.
bool would_block(const boost::system::error_code& ec);

// "1.2.3.4" or "::1"; the endpoint as "1.2.3.4:5678" or "[::1]:5678".
std::string to_string(const boost::asio::ip::address& a);
std::string to_string(const boost::asio::ip::tcp::endpoint& ep);

// gRPC peer strings look like "ipv4:1.2.3.4:5678"; returns "1.2.3.4:5678".
std::string strip_grpc_peer(const std::string& peer);

// Hex of random bytes: session ids and secrets.
std::string random_hex(std::size_t bytes);

// SIGINT and SIGTERM, and SIGHUP when `hangup`, caught from construction on:
// one sent right after start-up (once the program says it listens) is not
// lost. Without `hangup`, SIGHUP keeps its default action.
class signal_watch {
public:
    explicit signal_watch(bool hangup);
    ~signal_watch();
    signal_watch(const signal_watch&) = delete;
    signal_watch& operator=(const signal_watch&) = delete;

    // Blocks until SIGINT or SIGTERM arrives, running `on_hangup` for each
    // SIGHUP meanwhile; returns the signal number. From then on a watchdog
    // ends the process (exit code 1, with a log line) should the graceful
    // shutdown that follows take longer than `shutdown_limit`.
    int wait(const std::function<void()>& on_hangup,
             std::chrono::seconds shutdown_limit = std::chrono::seconds(5));

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// A stopping program's drain: waits until `open()` is 0 or `limit` passed,
// logging what it waits for (`what`: "connection(s) of tcp proxies and
// visits") and how it ended.
void wait_for_drain(const std::function<std::size_t()>& open, std::chrono::seconds limit,
                    const std::string& what, spdlog::logger& log);

// Capped exponential backoff with jitter down to 75%: 1 s, 2 s, 4 s ... max
// (never more than max).
class backoff {
public:
    explicit backoff(std::chrono::milliseconds first, std::chrono::milliseconds max)
        : first_(first), max_(max) {}
    std::chrono::milliseconds next();
    void reset() { attempt_ = 0; }

private:
    std::chrono::milliseconds first_, max_;
    unsigned attempt_ = 0;
    std::minstd_rand rng_{std::random_device{}()};
};

}  // namespace burrow
