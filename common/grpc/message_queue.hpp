// The write side of a Control stream, the same on both programs: one writer
// per stream. Messages queue here and go out one at a time; the next one only
// after the previous one's OnWriteDone (gRPC allows one write outstanding).
// Not thread-safe: used on its session's strand.
#pragma once

#include <deque>
#include <utility>

namespace burrow {

template <class Message>
class message_queue {
public:
    // Queues `m`. Returns the message to start writing now (the writer was
    // idle), or nullptr (it goes after the one in flight).
    const Message* push(Message m) {
        queue_.push_back(std::move(m));
        return writing_ ? nullptr : next();
    }
    // The write in flight completed. Returns the next message to write, or nullptr.
    const Message* written() {
        writing_ = false;
        return queue_.empty() ? nullptr : next();
    }
    bool writing() const noexcept { return writing_; }
    bool empty() const noexcept { return queue_.empty(); }
    // Drops what waits; the message in flight stays valid until written().
    void clear() { queue_.clear(); }

private:
    const Message* next() {
        out_ = std::move(queue_.front());
        queue_.pop_front();
        writing_ = true;
        return &out_;
    }

    Message out_;  // the message in flight: gRPC reads it until OnWriteDone
    std::deque<Message> queue_;
    bool writing_ = false;
};

}  // namespace burrow
