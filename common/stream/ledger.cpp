#include "common/stream/ledger.hpp"

#include <fmt/format.h>

#include "common/stream/frame.hpp"

#include <algorithm>
#include <atomic>
#include <utility>

namespace burrow::stream {

namespace {
std::atomic<std::size_t> session_limit_{ledger::default_replay_limit};
std::atomic<std::size_t> process_limit_{ledger::default_process_limit};
std::atomic<std::size_t> process_held_{0};
}  // namespace

void ledger::configure(std::size_t per_session, std::size_t per_process) noexcept {
    session_limit_.store(per_session, std::memory_order_relaxed);
    process_limit_.store(per_process, std::memory_order_relaxed);
}

std::size_t ledger::session_limit() noexcept {
    return session_limit_.load(std::memory_order_relaxed);
}

std::size_t ledger::process_held() noexcept {
    return process_held_.load(std::memory_order_relaxed);
}

bool ledger::within_process_limit() noexcept {
    return process_held_.load(std::memory_order_relaxed) <
           process_limit_.load(std::memory_order_relaxed);
}

void ledger::hold(std::size_t n) noexcept { process_held_.fetch_add(n, std::memory_order_relaxed); }

void ledger::release(std::size_t n) noexcept {
    if (n) process_held_.fetch_sub(n, std::memory_order_relaxed);
}

std::string ledger::accept(std::uint64_t offset, std::size_t size, bool fin) {
    // After fin, frames may still carry acknowledgements for the other direction.
    if (in_fin_ && (size > 0 || fin || offset != received_)) return "data after fin";
    if (size > max_frame_data)
        return fmt::format("frame of {} bytes exceeds the {} byte limit", size, max_frame_data);
    if (offset != received_)
        return fmt::format("frame offset {} does not continue the stream at {}", offset,
                           received_);
    received_ += size;
    in_fin_ = in_fin_ || fin;  // an ack-only frame after the fin keeps it (found by fuzzing)
    return {};
}

void ledger::sent(chunk bytes) {
    if (bytes.empty()) return;
    sent_ += bytes.size();
    held_ += bytes.size();
    hold(bytes.size());
    replay_.push_back(std::move(bytes));
}

std::string ledger::acknowledged(std::uint64_t ack) {
    if (out_fin_ && ack == sent_ + 1) {
        fin_acked_ = true;
        ack = sent_;
    }
    if (ack < acked_)
        return fmt::format("acknowledgement {} goes back from {}", ack, acked_);
    if (ack > sent_) return fmt::format("acknowledgement {} beyond the {} bytes sent", ack, sent_);
    std::uint64_t drop = ack - acked_;
    acked_ = ack;
    peak_held_ = std::max(peak_held_, held_);
    const auto freed = static_cast<std::size_t>(std::min<std::uint64_t>(drop, held_));
    held_ -= freed;
    release(freed);
    while (drop > 0 && head_ < replay_.size()) {  // nothing is kept after drop_replay()
        auto& front = replay_[head_];
        if (drop < front.size()) {
            front = front.sub(static_cast<std::size_t>(drop), front.size());
            break;
        }
        drop -= front.size();
        front = chunk();
        ++head_;
    }
    if (head_ == replay_.size()) {
        replay_.clear();
        head_ = 0;
    } else if (head_ >= 64 && head_ * 2 >= replay_.size()) {
        replay_.erase(replay_.begin(), replay_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
    }
    return {};
}

void ledger::drop_replay() noexcept {
    peak_held_ = peak_held();
    replay_ = {};
    head_ = 0;
    release(std::exchange(held_, 0));
}

}  // namespace burrow::stream
