// pump: a proxy's bandwidth_limit (set_rate_limit). Both directions of a
// socket end are charged to the proxy's rate_limit as bytes move; a direction
// in debt waits on a timer of its own: up, the socket's next read; down, the
// next carrier read (the transport's flow control then holds the peer). Only
// rate-limited pumps allocate this state.
#include "common/stream/pump.hpp"
#include "common/stream/pump_locked.hpp"

namespace burrow::stream {

void pump::set_rate_limit(std::shared_ptr<rate_limit> limit) {
    locked lock(*this);
    if (!limit || local_ != local_kind::socket) return;
    extra_ = std::make_unique<throttle>(std::move(limit), get_executor());
}

void pump::charge(rate_limit::direction d, std::size_t n) {
    const auto wait = throttling()->limit->take(d, n, rate_limit::clock::now());
    if (wait <= rate_limit::clock::duration::zero() || throttled_[d]) return;
    throttled_[d] = true;
    auto& timer = throttling()->timers[d];
    timer.expires_after(wait);
    timer.async_wait([self = shared_from_this(), d](const error_code& ec) {
        locked lock(*self);
        self->throttled_[d] = false;
        if (ec || self->ended_) return;
        if (d == rate_limit::up)
            self->read_socket();
        else
            self->issue_read();
    });
}

void pump::stop_throttle() {
    for (auto& t : throttling()->timers) t.cancel();
}

}  // namespace burrow::stream
