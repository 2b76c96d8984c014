// failure_budget: failed attempts counted per source address, so that a
// secret (a token, a visit key, a dashboard password) cannot be guessed at
// the speed of the network. Past `failures` within one window, the address
// is refused without a check until its window is over; a success forgives
// it. At most `addresses` are remembered: a flood from many addresses
// forgets the windows that are over first, then the oldest.
//
// Used by the client login, secret visits and the dashboard. Pure code, no
// I/O; thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>

#include <boost/asio/ip/address.hpp>

namespace burrow {

class failure_budget {
public:
    using clock = std::chrono::steady_clock;
    using address = boost::asio::ip::address;
    struct limits {
        std::size_t failures = 10;  // per address and window; 0 = no limit
        clock::duration window = std::chrono::seconds(60);
        std::size_t addresses = 1 << 16;
    };

    explicit failure_budget(limits l) : limits_(l) {}

    // How long `from` must wait before its next attempt counts (0: it may try now).
    std::chrono::seconds blocked_for(const address& from, clock::time_point now);
    void failed(const address& from, clock::time_point now);
    void forgive(const address& from);
    // New limits (a reload); the counts so far stay.
    void set_failures(std::size_t failures);

private:
    struct window {
        clock::time_point since;
        std::size_t count = 0;
    };
    std::mutex mutex_;
    limits limits_;
    std::map<address, window> windows_;
};

}  // namespace burrow
