// Internals the pump's source files share (pump.cpp, pump_socket.cpp, pump_local.cpp, ...).
#pragma once

#include <mutex>
#include <optional>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "common/stream/pump.hpp"

namespace burrow::stream {

// Drops the first `n` bytes of a buffer sequence.
template <class Buffers>
inline void consume(Buffers& buffers, std::size_t n) {
    auto it = buffers.begin();
    for (; it != buffers.end() && n >= it->size(); ++it) n -= it->size();
    if (it != buffers.end()) *it += n;
    buffers.erase(buffers.begin(), it);
}

// What a resumable session keeps from its first detach on (pump_resume.cpp).
struct pump::resume_state {
    std::optional<boost::asio::steady_timer> timer;  // while detached: the give-up
    std::chrono::steady_clock::time_point detached_at{};
    unsigned resumptions = 0;
    // A re-attach waiting for the old carrier's read to return.
    carrier* waiting = nullptr;
    // Detached carriers whose write is still outstanding (finished when it returns).
    std::vector<carrier*> leaving;
    resume_point peer;
    unique_function<std::string(resume_point)> answer;
    // The replay after a re-attach: bytes [next, end) of the ledger, then
    // fin when the peer has not got it.
    std::uint64_t replay_next = 0, replay_end = 0;
    bool replay_fin = false;
};

struct pump::local_extra {
    virtual ~local_extra() = default;
};

// A rate-limited pump's bucket, and a timer per direction (pump_throttle.cpp).
struct pump::throttle : local_extra {
    throttle(std::shared_ptr<rate_limit> l, const executor& ex)
        : limit(std::move(l)), timers{boost::asio::steady_timer(ex), boost::asio::steady_timer(ex)} {}
    std::shared_ptr<rate_limit> limit;
    boost::asio::steady_timer timers[2];  // by rate_limit::direction
};

// The in-process end's state (pump_local.cpp).
struct pump::in_process_end : local_extra {
    // Run by `locked` once the lock is released (one read and one write at most).
    struct completion {
        io_handler handler;
        error_code ec;
        std::size_t n = 0;
    };
    io_handler read;
    boost::asio::mutable_buffer read_into;
    io_handler write;               // waits for room; its bytes are in held
    std::optional<up_piece> held;   // taken from the writer, waiting for room
    completion read_due, write_due;
};

// Holds the pump's lock; on leaving, releases it and then runs what became
// due meanwhile (head handler, in-process completions), so that those may
// call back into the pump.
class pump::locked {
public:
    explicit locked(pump& p) : pump_(p), lock_(p.mutex_) {}
    ~locked() {
        auto& b = pump_;
        auto* local = b.in_process();
        if (!b.head_due_ && !b.end_due_ &&
            !(local && (local->read_due.handler || local->write_due.handler)))
            return;
        auto head = std::move(b.head_due_);
        in_process_end::completion read, write;
        if (local) {
            read = std::move(local->read_due);
            write = std::move(local->write_due);
        }
        auto ended = std::move(b.end_due_);
        lock_.unlock();
        if (head) head();
        if (read.handler) read.handler(read.ec, read.n);
        if (write.handler) write.handler(write.ec, write.n);
        if (ended) ended();
    }
    locked(const locked&) = delete;
    locked& operator=(const locked&) = delete;

private:
    pump& pump_;
    std::unique_lock<std::mutex> lock_;
};

inline pump::in_process_end* pump::in_process() const noexcept {
    return local_ == local_kind::in_process ? static_cast<in_process_end*>(extra_.get()) : nullptr;
}

inline pump::throttle* pump::throttling() const noexcept {
    return local_ == local_kind::socket ? static_cast<throttle*>(extra_.get()) : nullptr;
}

}  // namespace burrow::stream
