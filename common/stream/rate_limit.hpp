// rate_limit: a proxy's bandwidth_limit, a token bucket per direction shared
// by all the proxy's sessions (thread-safe). A pump takes what it moved; while
// a direction's bucket is in debt, that direction of every session waits
// (pump.hpp: the socket is not read, or the carrier is not read and its flow
// control holds the peer). A bucket holds at most `burst` bytes of credit, so
// an idle proxy does not save up a burst larger than that.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace burrow::stream {

class rate_limit {
public:
    using clock = std::chrono::steady_clock;
    enum direction { up = 0, down = 1 };  // from the local end / to it

    // `bytes_per_second` > 0, for each direction.
    explicit rate_limit(std::uint64_t bytes_per_second);

    std::uint64_t rate() const noexcept { return rate_; }
    // Takes `n` bytes moved in direction `d`: how long that direction must
    // wait before it moves more (zero while the bucket has credit).
    clock::duration take(direction d, std::size_t n, clock::time_point now);

private:
    struct bucket {
        double credit = 0;  // bytes; negative: debt
        clock::time_point last{};
    };
    const std::uint64_t rate_;
    const double burst_;
    std::mutex mutex_;
    bucket buckets_[2];
};

}  // namespace burrow::stream
