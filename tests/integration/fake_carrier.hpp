// A fake carrier for the stream core's integration tests: frames the test
// pushes are read, frames written are recorded, and every call completes
// later, on the io_context's thread, as the carrier contract demands.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include "common/stream/carrier.hpp"
#include "common/stream/pump.hpp"

namespace burrow::stream::fakes {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Waits for `cond` (checked under no lock of ours) up to a deadline.
inline bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds limit = 5s) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!cond()) {
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

inline std::string text_of(const pieces& data) {
    std::string out;
    for (const auto& c : data) out.append(reinterpret_cast<const char*>(c.data()), c.size());
    return out;
}

struct written {
    frame::kind type;
    std::uint64_t offset, ack;
    bool fin;
    std::string bytes;
};

class fake_carrier final : public carrier {
public:
    explicit fake_carrier(asio::io_context& io) : io_(io) {}
    void bind(std::shared_ptr<pump> p) {
        pump_ = std::move(p);
        events_ = pump_;
        pump_->attach(this);
    }


    // ---- carrier ----
    void read(frame* into) override {
        std::lock_guard lock(mutex_);
        EXPECT_EQ(into_, nullptr) << "two reads outstanding";
        into_ = into;
        if (broken_) return fail_read_locked();
        deliver_locked();
    }
    void write(const frame& f) override {
        std::lock_guard lock(mutex_);
        EXPECT_FALSE(writing_) << "two writes outstanding";
        writing_ = true;
        writes_.push_back({f.type, f.offset, f.ack, f.fin, text_of(f.data)});
        if (f.type != frame::kind::data) writes_.back().bytes = f.text;
        if (auto_complete_) complete_write_locked(true);
    }
    void set_events(std::shared_ptr<carrier::events> e) override {
        std::lock_guard lock(mutex_);
        EXPECT_TRUE(into_ == nullptr && !writing_) << "set_events with an operation outstanding";
        events_ = std::move(e);
    }
    void cancel() override {
        std::lock_guard lock(mutex_);
        fail_read_locked();
        if (writing_) complete_write_locked(false);
    }
    void finish(bool ok) override {
        std::lock_guard lock(mutex_);
        ++finishes_;
        finish_ok_ = ok;
        EXPECT_FALSE(writing_) << "finished with a write outstanding";
    }

    // ---- the test's side ----
    // A data frame from the peer.
    void push_data(std::uint64_t offset, const std::string& bytes, bool fin, std::uint64_t ack) {
        frame f;
        f.offset = offset;
        f.ack = ack;
        f.fin = fin;
        f.size = bytes.size();
        if (!bytes.empty())
            f.data.push_back(
                chunk::copy_of({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}));
        push(std::move(f));
    }
    void push_error(const std::string& text) { push_control(frame::kind::error, text); }
    void push_head(const std::string& serialized) { push_control(frame::kind::head, serialized); }
    // Frames pushed and not read yet.
    std::size_t unread() {
        std::lock_guard lock(mutex_);
        return inbox_.size();
    }
    // The transport breaks: the outstanding read fails, and every later one.
    void break_read() {
        std::lock_guard lock(mutex_);
        broken_ = true;
        fail_read_locked();
    }
    // The outstanding write fails (the stream ended under it); the read is
    // left as it is.
    void fail_write() {
        std::lock_guard lock(mutex_);
        if (writing_) complete_write_locked(false);
    }
    void set_auto_complete(bool on) {
        std::lock_guard lock(mutex_);
        auto_complete_ = on;
        if (on && writing_) complete_write_locked(true);
    }
    std::vector<written> writes() {
        std::lock_guard lock(mutex_);
        return {writes_.begin(), writes_.end()};
    }
    bool writing() {
        std::lock_guard lock(mutex_);
        return writing_;
    }
    int finishes() {
        std::lock_guard lock(mutex_);
        return finishes_;
    }
    bool finish_ok() {
        std::lock_guard lock(mutex_);
        return finish_ok_;
    }
    std::string data_sent() {
        std::string all;
        for (const auto& w : writes())
            if (w.type == frame::kind::data) all += w.bytes;
        return all;
    }
    bool fin_sent() {
        for (const auto& w : writes())
            if (w.fin) return true;
        return false;
    }

private:
    void push_control(frame::kind type, const std::string& text) {
        frame f;
        f.type = type;
        f.text = text;
        push(std::move(f));
    }
    void push(frame f) {
        std::lock_guard lock(mutex_);
        inbox_.push_back(std::move(f));
        deliver_locked();
    }
    void deliver_locked() {
        if (!into_ || inbox_.empty()) return;
        *into_ = std::move(inbox_.front());
        inbox_.pop_front();
        into_ = nullptr;
        asio::post(io_, [this, e = events_] { e->on_read_done(this, true); });
    }
    void fail_read_locked() {
        if (!into_) return;
        into_ = nullptr;
        asio::post(io_, [this, e = events_] { e->on_read_done(this, false); });
    }
    void complete_write_locked(bool ok) {
        writing_ = false;
        asio::post(io_, [this, e = events_, ok] { e->on_write_done(this, ok); });
    }

    asio::io_context& io_;
    std::shared_ptr<pump> pump_;
    std::shared_ptr<carrier::events> events_;
    std::mutex mutex_;
    frame* into_ = nullptr;
    std::deque<frame> inbox_;
    std::deque<written> writes_;
    bool writing_ = false;
    bool auto_complete_ = true;
    bool broken_ = false;
    int finishes_ = 0;
    bool finish_ok_ = false;
};

}  // namespace burrow::stream::fakes
