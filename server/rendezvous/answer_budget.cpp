#include "server/rendezvous/answer_budget.hpp"

#include <algorithm>
#include <iterator>

namespace burrow {

answer_budget::answer_budget(const limits& l) : limits_(l), total_{l.total, clock::time_point{}} {}

void answer_budget::refill(bucket& b, double rate, double cap, clock::time_point now) {
    const std::chrono::duration<double> passed = now - b.at;
    if (passed.count() > 0) b.tokens = std::min(cap, b.tokens + passed.count() * rate);
    b.at = std::max(b.at, now);
}

void answer_budget::forget_idle(clock::time_point now) {
    if (now - last_sweep_ < std::chrono::seconds(1)) return;
    last_sweep_ = now;
    const double cap = 2 * limits_.per_source;
    for (auto it = buckets_.begin(); it != buckets_.end();) {
        refill(it->second, limits_.per_source, cap, now);
        it = it->second.tokens >= cap ? buckets_.erase(it) : std::next(it);
    }
}

bool answer_budget::take(const boost::asio::ip::address& source, clock::time_point now) {
    refill(total_, limits_.total, limits_.total, now);
    if (total_.tokens < 1) return false;
    const double cap = 2 * limits_.per_source;
    auto it = buckets_.find(source);
    if (it == buckets_.end()) {
        if (buckets_.size() >= limits_.max_sources) forget_idle(now);
        // Still full: every remembered address is busy. This one is answered
        // out of the shared budget alone, without a place in the table.
        if (buckets_.size() >= limits_.max_sources) {
            total_.tokens -= 1;
            return true;
        }
        it = buckets_.emplace(source, bucket{cap, now}).first;
    }
    refill(it->second, limits_.per_source, cap, now);
    if (it->second.tokens < 1) return false;
    it->second.tokens -= 1;
    total_.tokens -= 1;
    return true;
}

}  // namespace burrow
