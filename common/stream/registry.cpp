#include "common/stream/registry.hpp"

#include "common/stream/pump.hpp"

namespace burrow::stream {

bool registry::add(std::uint64_t id, const std::shared_ptr<pump>& p) {
    {
        absl::MutexLock lock(&mutex_);
        if (!sessions_.emplace(id, p).second) return false;
    }
    // Runs at once, outside our lock, when the pump has ended meanwhile. The
    // registry outlives its pumps' ends: it belongs to the program's state.
    p->on_end([this, id, raw = p.get()] { remove(id, raw); });
    return true;
}

void registry::remove(std::uint64_t id, const pump* p) {
    std::shared_ptr<pump> gone;  // released after the lock
    absl::MutexLock lock(&mutex_);
    if (auto it = sessions_.find(id); it != sessions_.end() && it->second.get() == p) {
        gone = std::move(it->second);
        sessions_.erase(it);
    }
}

std::shared_ptr<pump> registry::find(std::uint64_t id) const {
    absl::MutexLock lock(&mutex_);
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second;
}

std::size_t registry::size() const {
    absl::MutexLock lock(&mutex_);
    return sessions_.size();
}

std::vector<std::shared_ptr<pump>> registry::all() const {
    absl::MutexLock lock(&mutex_);
    std::vector<std::shared_ptr<pump>> out;
    out.reserve(sessions_.size());
    for (const auto& [_, p] : sessions_) out.push_back(p);
    return out;
}

}  // namespace burrow::stream
