// Internals the pump's two source files share (pump.cpp, pump_local.cpp).
#pragma once

#include <mutex>

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

// Holds the pump's lock; on leaving, releases it and then runs what became
// due meanwhile (head handler, in-process completions), so that those may
// call back into the pump.
class pump::locked {
public:
    explicit locked(pump& p) : pump_(p), lock_(p.mutex_) {}
    ~locked() {
        auto& b = pump_;
        if (!b.head_due_ && !b.read_due_.handler && !b.write_due_.handler && !b.end_due_)
            return;
        auto head = std::move(b.head_due_);
        auto read = std::move(b.read_due_);
        auto write = std::move(b.write_due_);
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

}  // namespace burrow::stream
