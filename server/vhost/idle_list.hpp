// The bookkeeping of idle upstream connections, per key: bounded, taken most
// recent first, and the unfit ones handed back for the caller to close. Pure
// code (no lock, no clock of its own, no I/O): the upstream pool wraps it,
// unit tests drive it with a fake connection and made-up times.
#pragma once

#include <chrono>
#include <cstddef>
#include <iterator>
#include <map>
#include <utility>
#include <vector>

namespace burrow::vhost {

// `Conn` is a nullable handle (a shared_ptr): a default one means none.
// `Key` is ordered. `fit(conn)` says whether an idle one may still be used
// (not closed by the service, no stray bytes); time is checked here.
template <class Key, class Conn>
class idle_list {
public:
    using clock = std::chrono::steady_clock;

    idle_list(std::size_t max_per_key, clock::duration max_idle)
        : max_per_key_(max_per_key), max_idle_(max_idle) {}

    // Keeps `c` as the most recent of `k`. When `k` has max_per_key already,
    // the oldest goes: it is returned, to be closed.
    Conn put(const Key& k, Conn c, clock::time_point now) {
        Conn oldest{};
        auto& idle = idle_[k];
        if (idle.size() >= max_per_key_) {
            oldest = std::move(idle.front().conn);
            idle.erase(idle.begin());
        }
        idle.push_back({std::move(c), now});
        return oldest;
    }

    // The most recent idle one of `k` that is still fit, or none; the unfit
    // ones met on the way go to `closing`. The others wait for sweep(): a
    // scan of all of them on every request cost as much as its routing.
    template <class Fit>
    Conn take(const Key& k, clock::time_point now, Fit&& fit, std::vector<Conn>& closing) {
        auto it = idle_.find(k);
        if (it == idle_.end()) return Conn{};
        auto& idle = it->second;
        Conn found{};
        while (!found && !idle.empty()) {
            auto e = std::move(idle.back());
            idle.pop_back();
            if (usable(e, now, fit))
                found = std::move(e.conn);
            else
                closing.push_back(std::move(e.conn));
        }
        if (idle.empty()) idle_.erase(it);
        return found;
    }

    // Moves every idle one that is no longer fit to `closing`.
    template <class Fit>
    void sweep(clock::time_point now, Fit&& fit, std::vector<Conn>& closing) {
        for (auto it = idle_.begin(); it != idle_.end();) {
            std::erase_if(it->second, [&](entry& e) {
                if (usable(e, now, fit)) return false;
                closing.push_back(std::move(e.conn));
                return true;
            });
            it = it->second.empty() ? idle_.erase(it) : std::next(it);
        }
    }

    std::size_t size() const {
        std::size_t n = 0;
        for (const auto& [k, idle] : idle_) n += idle.size();
        return n;
    }

private:
    struct entry {
        Conn conn;
        clock::time_point since;
    };
    // Not idle for too long, and not closed by the service (or the tunnel).
    template <class Fit>
    bool usable(const entry& e, clock::time_point now, Fit& fit) const {
        return now - e.since < max_idle_ && fit(e.conn);
    }

    const std::size_t max_per_key_;
    const clock::duration max_idle_;
    std::map<Key, std::vector<entry>> idle_;
};

}  // namespace burrow::vhost
