#include "common/stream/registry.hpp"

#include <boost/asio/steady_timer.hpp>

#include "common/stream/pump.hpp"

namespace burrow::stream {

struct registry::sweeper {
    sweeper(boost::asio::any_io_executor ex, std::chrono::milliseconds p) : timer(ex), period(p) {}
    boost::asio::steady_timer timer;
    std::chrono::milliseconds period;
};

registry::registry() = default;
registry::~registry() = default;

void registry::sweep_acks_every(boost::asio::any_io_executor ex,
                                std::chrono::milliseconds period) {
    sweeper_ = std::make_unique<sweeper>(std::move(ex), period);
    sweep_later();
}

void registry::sweep_later() {
    sweeper_->timer.expires_after(sweeper_->period);
    // A cancelled wait (the registry is going) touches nothing.
    sweeper_->timer.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        for (const auto& p : all()) p->flush_ack();
        sweep_later();
    });
}

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

std::vector<std::pair<std::uint64_t, std::shared_ptr<pump>>> registry::entries() const {
    absl::MutexLock lock(&mutex_);
    return {sessions_.begin(), sessions_.end()};
}

}  // namespace burrow::stream
