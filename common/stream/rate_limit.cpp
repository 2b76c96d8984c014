#include "common/stream/rate_limit.hpp"

#include <algorithm>

namespace burrow::stream {

namespace {
// Credit an idle bucket may hold: a tenth of a second of traffic, at least
// 16 KiB (one read of a socket), so that small rates still move whole reads.
double burst_of(std::uint64_t rate) {
    return std::max(static_cast<double>(rate) / 10, 16.0 * 1024);
}
}  // namespace

rate_limit::rate_limit(std::uint64_t bytes_per_second)
    : rate_(std::max<std::uint64_t>(bytes_per_second, 1)), burst_(burst_of(rate_)) {
    const auto now = clock::now();
    for (auto& b : buckets_) b = {burst_, now};
}

rate_limit::clock::duration rate_limit::take(direction d, std::size_t n, clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto& b = buckets_[d];
    if (now > b.last) {
        const double earned = std::chrono::duration<double>(now - b.last).count() * static_cast<double>(rate_);
        b.credit = std::min(burst_, b.credit + earned);
        b.last = now;
    }
    b.credit -= static_cast<double>(n);
    if (b.credit >= 0) return clock::duration::zero();
    return std::chrono::duration_cast<clock::duration>(
        std::chrono::duration<double>(-b.credit / static_cast<double>(rate_)));
}

}  // namespace burrow::stream
