// A request body's allowance of time spent waiting for the user: the first
// vhost_body_timeout, and a second more for every vhost_body_min_rate bytes
// received (mod_reqtimeout's body=20,MinRate=500). Waiting for the service to
// take what came does not count. Pure code: the relay adds what it waited and
// received, unit tests add made-up figures.
#pragma once

#include <chrono>
#include <cstdint>

#include "common/config.hpp"

namespace burrow::vhost {

struct body_budget {
    using clock = std::chrono::steady_clock;

    body_budget() = default;
    explicit body_budget(const server_config& c)
        : allowance(std::chrono::seconds(c.vhost_body_timeout)),
          rate(c.vhost_body_min_rate),
          on(c.vhost_body_timeout > 0) {}

    // What is left to wait; zero or less: the user is too slow.
    clock::duration left() const {
        const auto earned = rate == 0 ? clock::duration::zero()
                                      : std::chrono::duration_cast<clock::duration>(
                                            std::chrono::duration<double>(
                                                static_cast<double>(received) / rate));
        return allowance + earned - waited;
    }

    clock::duration allowance{};
    std::uint64_t rate = 0;
    bool on = false;
    std::uint64_t received = 0;
    clock::duration waited{};
};

}  // namespace burrow::vhost
