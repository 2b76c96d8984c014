#include "client/channel_pool.hpp"

#include <grpcpp/channel.h>
#include <grpcpp/support/channel_arguments.h>

#include "client/call_census.hpp"

namespace burrow {

std::size_t pick_lane(const std::vector<channel_lane>& lanes) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < lanes.size(); ++i) {
        const auto& a = lanes[i];
        const auto& b = lanes[best];
        if (a.failing != b.failing ? !a.failing : a.streams < b.streams) best = i;
    }
    return best;
}

channel_pool::channel_pool(factory make, std::size_t size, std::shared_ptr<call_census> calls)
    : make_(std::move(make)), size_(std::max<std::size_t>(size, 1)), calls_(std::move(calls)) {
    for (std::size_t i = 0; i < size_; ++i)
        stubs_.push_back(std::make_shared<tracked_stub>(make_(i), calls_));
}

channel_pool::~channel_pool() = default;

std::shared_ptr<grpc::Channel> channel_pool::control() const {
    std::lock_guard lock(mutex_);
    return stubs_.front()->channel;
}

std::shared_ptr<tracked_stub> channel_pool::pick() const {
    std::lock_guard lock(mutex_);
    if (stubs_.size() == 1) return stubs_.front();
    std::vector<channel_lane> lanes;
    lanes.reserve(stubs_.size());
    for (const auto& s : stubs_) {
        const auto state = s->channel->GetState(false);
        lanes.push_back({state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN,
                         s->open_streams->load(std::memory_order_relaxed)});
    }
    return stubs_[pick_lane(lanes)];
}

std::vector<std::size_t> channel_pool::loads() const {
    std::lock_guard lock(mutex_);
    std::vector<std::size_t> out;
    for (const auto& s : stubs_) out.push_back(s->open_streams->load(std::memory_order_relaxed));
    return out;
}

void channel_pool::renew() {
    constexpr std::size_t generations = 16;
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < stubs_.size(); ++i) {
        old_.push_back(stubs_[i]->channel);
        stubs_[i] = std::make_shared<tracked_stub>(make_(i), calls_);
    }
    if (old_.size() > generations * size_)
        old_.erase(old_.begin(), old_.begin() + static_cast<std::ptrdiff_t>(old_.size() - generations * size_));
}

void channel_pool::reset_backoff() const {
    std::lock_guard lock(mutex_);
    for (const auto& s : stubs_) grpc::experimental::ChannelResetConnectionBackoff(s->channel.get());
}

std::vector<std::shared_ptr<grpc::Channel>> channel_pool::all() const {
    std::lock_guard lock(mutex_);
    auto out = old_;
    for (const auto& s : stubs_) out.push_back(s->channel);
    return out;
}

}  // namespace burrow
