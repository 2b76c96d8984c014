// One timer polices both ends of an http connection: each wait moves its
// end's deadline (a plain store, no timer operation), and the connection's
// watch loop closes the end whose deadline passed.
#pragma once

#include <chrono>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

namespace burrow::vhost {

struct watchdog {
    using clock = std::chrono::steady_clock;
    static constexpr auto never = clock::time_point::max();

    explicit watchdog(const boost::asio::any_io_executor& ex) : timer(ex) {}

    // Moves `which` (user or upstream) to `at`, waking the timer when that is sooner.
    void set(clock::time_point& which, clock::time_point at) {
        which = at;
        if (at < timer.expiry()) timer.cancel();
    }

    boost::asio::steady_timer timer;
    clock::time_point user = never;
    clock::time_point upstream = never;
};

}  // namespace burrow::vhost
