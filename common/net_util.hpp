// Small helpers shared by the data and control paths.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

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

// Blocks until SIGINT or SIGTERM arrives; returns the signal number. From
// then on a watchdog ends the process (exit code 1, with a log line) should
// the graceful shutdown that follows take longer than `shutdown_limit`.
int wait_for_termination_signal(std::chrono::seconds shutdown_limit = std::chrono::seconds(5));

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
