// meter: a session's byte counts as they move, for listings that read them
// while the session runs (the dashboard). The data path adds with relaxed
// atomics; readers take no lock. `in` counts what came from the local end
// (on the server: from the user), `out` what went to it.
#pragma once

#include <atomic>
#include <cstdint>

namespace burrow::stream {

struct meter {
    std::atomic<std::uint64_t> in{0}, out{0};
    void add_in(std::uint64_t n) noexcept { in.fetch_add(n, std::memory_order_relaxed); }
    void add_out(std::uint64_t n) noexcept { out.fetch_add(n, std::memory_order_relaxed); }
};

}  // namespace burrow::stream
