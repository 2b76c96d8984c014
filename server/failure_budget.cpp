#include "server/failure_budget.hpp"

#include <algorithm>

namespace burrow {

std::chrono::seconds failure_budget::blocked_for(const address& from, clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto it = windows_.find(from);
    if (it == windows_.end()) return std::chrono::seconds(0);
    const auto until = it->second.since + limits_.window;
    if (now >= until) {
        windows_.erase(it);
        return std::chrono::seconds(0);
    }
    if (limits_.failures == 0 || it->second.count < limits_.failures) return std::chrono::seconds(0);
    return std::chrono::ceil<std::chrono::seconds>(until - now);
}

void failure_budget::failed(const address& from, clock::time_point now) {
    std::lock_guard lock(mutex_);
    if (!windows_.count(from) && windows_.size() >= limits_.addresses) {
        std::erase_if(windows_, [&](const auto& w) { return now >= w.second.since + limits_.window; });
        if (windows_.size() >= limits_.addresses)  // all fresh: the oldest window goes
            windows_.erase(std::min_element(windows_.begin(), windows_.end(),
                                            [](const auto& a, const auto& b) {
                                                return a.second.since < b.second.since;
                                            }));
    }
    auto [it, fresh] = windows_.try_emplace(from, window{now, 0});
    if (!fresh && now >= it->second.since + limits_.window) it->second = {now, 0};
    ++it->second.count;
}

void failure_budget::forgive(const address& from) {
    std::lock_guard lock(mutex_);
    windows_.erase(from);
}

void failure_budget::set_failures(std::size_t failures) {
    std::lock_guard lock(mutex_);
    limits_.failures = failures;
}

}  // namespace burrow
