// The splice between two fake carriers (a visitor's stream and a service's),
// and a pump handing its carrier over to it: frames pass on unchanged, a
// slow side holds the other, a side that breaks or refuses ends both once.
#include "common/stream/splice.hpp"

#include <atomic>
#include <list>
#include <optional>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <gtest/gtest.h>

#include "common/stream/frame_codec.hpp"
#include "tests/integration/fake_carrier.hpp"

namespace burrow::stream {
namespace {

using namespace fakes;

class splice_lab : public ::testing::Test {
protected:
    void SetUp() override {
        runner_ = std::thread([this] { io_.run(); });
        splice_ = std::make_shared<splice>(
            "[test/1]", [this](bool ok, const std::string& why, const splice::totals& t, double) {
                std::lock_guard lock(mutex_);
                ++ends_;
                ok_ = ok;
                why_ = why;
                totals_ = t;
            });
    }
    void TearDown() override {
        splice_->close("test over");
        splice_.reset();
        guard_.reset();
        runner_.join();
    }
    // Both ends may come back for `keep` (before attach_both).
    void make_resumable(std::chrono::milliseconds keep = 30s) {
        splice_->set_resumable({splice::key{visitor_secret, &visitor_run_},
                                splice::key{service_secret, &service_run_}},
                               keep, io_.get_executor());
    }
    static std::optional<frame_codec::resume_head> head_of(const written& w) {
        if (w.type != frame::kind::head) return {};
        return frame_codec::decode_resume_head(w.bytes);
    }
    static std::optional<frame_codec::resume_head> last_head(fake_carrier& c) {
        const auto w = c.writes();
        if (w.empty()) return {};
        return head_of(w.back());
    }
    void attach_both() {
        splice_->attach(splice::visitor, &visitor_);
        splice_->attach(splice::service, &service_);
    }
    // A resumable splice whose first write to the service (the visitor's
    // "abc") fails, with the service's read still outstanding.
    void fail_a_write_to_the_service() {
        make_resumable();
        service_.set_auto_complete(false);
        attach_both();
        visitor_.push_data(0, "abc", false, 0);
        ASSERT_TRUE(eventually([&] { return service_.writing(); }));
        service_.fail_write();
    }
    int ends() {
        std::lock_guard lock(mutex_);
        return ends_;
    }

    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_{io_.get_executor()};
    std::thread runner_;
    fake_carrier visitor_{io_}, service_{io_};
    // Streams an end comes back on; they outlive the io thread, as the first two.
    std::list<fake_carrier> more_;
    fake_carrier& another() { return more_.emplace_back(io_); }
    std::shared_ptr<splice> splice_;
    const std::string visitor_secret = "visitor-secret-1", service_secret = "service-secret-1";
    int visitor_run_ = 0, service_run_ = 0;  // identities of the two ends' runs
    std::mutex mutex_;
    int ends_ = 0;
    bool ok_ = false;
    std::string why_;
    splice::totals totals_;
};

TEST_F(splice_lab, frames_pass_unchanged_both_ways_and_both_fins_end_it_well) {
    attach_both();
    visitor_.push_data(0, "hello", false, 0);
    ASSERT_TRUE(eventually([&] { return service_.data_sent() == "hello"; }));
    service_.push_data(0, "world", true, 5);
    ASSERT_TRUE(eventually([&] { return visitor_.data_sent() == "world"; }));
    // Offsets, acknowledgements and fin as the sender wrote them.
    const auto down = visitor_.writes().back();
    EXPECT_EQ(down.offset, 0u);
    EXPECT_EQ(down.ack, 5u);
    EXPECT_TRUE(down.fin);
    EXPECT_EQ(ends(), 0);
    // The visitor's fin also acknowledges the service's (one past its 5 bytes);
    // the splice waits for the service to acknowledge the visitor's too.
    visitor_.push_data(5, "", true, 6);
    ASSERT_TRUE(eventually([&] { return service_.writes().size() == 2; }));
    EXPECT_EQ(service_.writes().back().ack, 6u);
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(ends(), 0);
    service_.push_data(5, "", false, 6);
    ASSERT_TRUE(eventually([&] { return ends() == 1; }));
    EXPECT_TRUE(ok_) << why_;
    EXPECT_EQ(totals_.to_service, 5u);
    EXPECT_EQ(totals_.to_visitor, 5u);
    ASSERT_TRUE(eventually([&] { return visitor_.finishes() == 1 && service_.finishes() == 1; }));
    EXPECT_TRUE(visitor_.finish_ok());
    EXPECT_TRUE(service_.finish_ok());
}

TEST_F(splice_lab, a_side_that_does_not_take_writes_holds_the_other) {
    service_.set_auto_complete(false);
    attach_both();
    for (std::uint64_t i = 0; i < 5; ++i) visitor_.push_data(i, "x", false, 0);
    // One frame in the write to the service, one read and held: the rest waits.
    ASSERT_TRUE(eventually([&] { return visitor_.unread() == 3; }));
    std::this_thread::sleep_for(50ms);  // nothing more is taken meanwhile
    EXPECT_EQ(visitor_.unread(), 3u);
    EXPECT_EQ(service_.writes().size(), 1u);
    service_.set_auto_complete(true);
    ASSERT_TRUE(eventually([&] { return service_.data_sent() == "xxxxx"; }));
    EXPECT_EQ(visitor_.unread(), 0u);
}

TEST_F(splice_lab, a_side_that_breaks_ends_both_once) {
    attach_both();
    visitor_.push_data(0, "abc", false, 0);
    ASSERT_TRUE(eventually([&] { return service_.data_sent() == "abc"; }));
    visitor_.break_read();
    ASSERT_TRUE(eventually([&] { return ends() == 1; }));
    EXPECT_FALSE(ok_);
    EXPECT_EQ(why_, "visitor stream closed");
    ASSERT_TRUE(eventually([&] { return visitor_.finishes() == 1 && service_.finishes() == 1; }));
    EXPECT_FALSE(service_.finish_ok());
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(ends(), 1);
    EXPECT_EQ(service_.finishes(), 1);
}

TEST_F(splice_lab, an_error_frame_reaches_the_other_side_before_it_ends) {
    attach_both();
    service_.push_error("local service unreachable: Connection refused");
    ASSERT_TRUE(eventually([&] { return ends() == 1; }));
    EXPECT_FALSE(ok_);
    const auto w = visitor_.writes();
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0].type, frame::kind::error);
    EXPECT_EQ(w[0].bytes, "local service unreachable: Connection refused");
    // Finished as ok, so that the visitor's end reads the reason first.
    ASSERT_TRUE(eventually([&] { return visitor_.finishes() == 1 && service_.finishes() == 1; }));
    EXPECT_TRUE(visitor_.finish_ok());
}

// The service's end reset the session (its service aborted) and ended its
// stream: our write to it fails, and gRPC may say so before the read brings
// the error frame. The error goes on to the visitor, whose end resets its
// user at once; the service's side is not taken for away, which would have
// the visitor's user wait `keep` for an end that never comes back.
TEST_F(splice_lab, a_write_that_fails_before_the_error_frame_is_read_passes_the_error_on) {
    fail_a_write_to_the_service();
    // Meanwhile the visitor's next frame waits: the stream it would go to is failing.
    visitor_.push_data(3, "def", false, 0);
    ASSERT_TRUE(eventually([&] { return visitor_.unread() == 0; }));
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(service_.writes().size(), 1u);
    service_.push_error("session reset");
    ASSERT_TRUE(eventually([&] { return ends() == 1; }));
    EXPECT_FALSE(ok_);
    EXPECT_EQ(why_, "service ended the session with an error");
    const auto w = visitor_.writes();
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0].type, frame::kind::error);
    EXPECT_EQ(w[0].bytes, "session reset");
    ASSERT_TRUE(eventually([&] { return visitor_.finishes() == 1; }));
    EXPECT_TRUE(visitor_.finish_ok());  // the visitor's end reads the reason first
}

// A write that fails with the transport: once the read fails too, the side
// is away as for any break, and may come back.
TEST_F(splice_lab, a_write_that_fails_with_the_transport_leaves_the_side_away_once_the_read_fails) {
    fail_a_write_to_the_service();
    service_.break_read();
    ASSERT_TRUE(eventually([&] { return service_.finishes() == 1; }));
    EXPECT_FALSE(service_.finish_ok());
    auto& back = another();
    EXPECT_EQ(splice_->reattach(splice::service, &back, {0, false}), "");
    EXPECT_EQ(ends(), 0);
}

TEST_F(splice_lab, heads_and_data_after_fin_are_protocol_errors) {
    attach_both();
    visitor_.push_data(0, "a", true, 0);
    visitor_.push_data(1, "b", false, 0);
    ASSERT_TRUE(eventually([&] { return ends() == 1; }));
    EXPECT_FALSE(ok_);
    EXPECT_NE(why_.find("data after fin"), std::string::npos) << why_;
}

TEST_F(splice_lab, a_side_that_never_comes_ends_the_other) {
    splice_->attach(splice::visitor, &visitor_);
    splice_->attach(splice::service, nullptr);
    ASSERT_TRUE(eventually([&] { return ends() == 1; }));
    EXPECT_FALSE(ok_);
    ASSERT_TRUE(eventually([&] { return visitor_.finishes() == 1; }));
    EXPECT_FALSE(visitor_.finish_ok());
}

// A pump whose head was read hands its carrier over once its own head is
// out, and ends without finishing it; the splice then drives it.
TEST_F(splice_lab, a_pump_hands_its_idle_carrier_over_after_its_head) {
    auto p = std::make_shared<pump>(io_.get_executor());
    service_.bind(p);
    std::atomic<bool> got_head{false};
    p->read_head([&](std::string) { got_head = true; });
    service_.push_head("hello");
    ASSERT_TRUE(eventually([&] { return got_head.load(); }));
    p->send_head("start");
    std::atomic<carrier*> handed{nullptr};
    std::atomic<bool> called{false};
    p->hand_over([&](carrier* c) {
        handed = c;
        called = true;
    });
    ASSERT_TRUE(eventually([&] { return called.load(); }));
    EXPECT_EQ(handed.load(), &service_);
    EXPECT_TRUE(p->ended());
    EXPECT_EQ(service_.finishes(), 0);
    ASSERT_EQ(service_.writes().size(), 1u);
    EXPECT_EQ(service_.writes()[0].bytes, "start");

    splice_->attach(splice::service, handed.load());
    splice_->attach(splice::visitor, &visitor_);
    service_.push_data(0, "banner", false, 0);
    ASSERT_TRUE(eventually([&] { return visitor_.data_sent() == "banner"; }));

    // A pump that is not idle gives nothing.
    auto busy = std::make_shared<pump>(io_.get_executor());
    fake_carrier other(io_);
    other.bind(busy);
    busy->read_head([](std::string) {});  // a read is outstanding
    std::atomic<bool> refused{false};
    busy->hand_over([&](carrier* c) { refused = c == nullptr; });
    ASSERT_TRUE(eventually([&] { return refused.load(); }));
    busy->close("test over");
}

TEST_F(splice_lab, an_end_comes_back_only_with_its_own_secret_from_its_own_run) {
    make_resumable();
    attach_both();
    EXPECT_EQ(splice_->side_for(&visitor_run_, visitor_secret), splice::visitor);
    EXPECT_EQ(splice_->side_for(&service_run_, service_secret), splice::service);
    EXPECT_FALSE(splice_->side_for(&service_run_, visitor_secret));  // the other end's secret
    EXPECT_FALSE(splice_->side_for(&visitor_run_, "visitor-secret-2"));
    EXPECT_FALSE(splice_->side_for(&visitor_run_, ""));
    EXPECT_TRUE(splice_->involves(&visitor_run_));
    int stranger = 0;
    EXPECT_FALSE(splice_->involves(&stranger));
}

// The visitor's stream breaks while the service's runs: the service's frames
// meanwhile go nowhere; when the visitor is back the service is asked to
// rewind, its frames before its answer are dropped, the answer goes on to the
// visitor first, and then both replay from what the other holds.
TEST_F(splice_lab, a_visitor_that_comes_back_gets_the_service_rewound_to_what_it_holds) {
    make_resumable();
    attach_both();
    visitor_.push_data(0, "ab", false, 0);
    ASSERT_TRUE(eventually([&] { return service_.data_sent() == "ab"; }));
    service_.push_data(0, "xyz", false, 2);
    ASSERT_TRUE(eventually([&] { return visitor_.data_sent() == "xyz"; }));
    visitor_.break_read();
    ASSERT_TRUE(eventually([&] { return visitor_.finishes() == 1; }));
    EXPECT_FALSE(visitor_.finish_ok());
    service_.push_data(3, "lost", false, 2);  // nobody to take it
    ASSERT_TRUE(eventually([&] { return service_.unread() == 0; }));

    auto& back = another();
    ASSERT_EQ(splice_->reattach(splice::visitor, &back, {3, false}), "");
    ASSERT_TRUE(eventually([&] { return last_head(service_).has_value(); }));
    const auto rewind = last_head(service_);
    EXPECT_EQ(rewind->which, frame_codec::f_resume);
    EXPECT_EQ(rewind->point.received, 3u);
    service_.push_data(7, "stale", false, 2);  // sent before it saw the rewind
    service_.push_head(frame_codec::encode_resume_head(frame_codec::f_resumed, {2, false}));
    service_.push_data(3, "lost", false, 2);  // the replay
    ASSERT_TRUE(eventually([&] { return back.data_sent() == "lost"; }));
    const auto w = back.writes();
    ASSERT_TRUE(head_of(w[0]));
    EXPECT_EQ(head_of(w[0])->which, frame_codec::f_resumed);
    EXPECT_EQ(head_of(w[0])->point.received, 2u);
    EXPECT_EQ(w[1].offset, 3u);
    back.push_data(2, "cd", false, 7);
    ASSERT_TRUE(eventually([&] { return service_.data_sent() == "abcd"; }));
    EXPECT_EQ(splice_->counts().resumptions, 1u);
    EXPECT_EQ(ends(), 0);

    // Both fins pass, and their acknowledgements: it ends well, on the new stream.
    back.push_data(4, "", true, 7);
    service_.push_data(7, "", true, 5);
    back.push_data(4, "", false, 8);
    ASSERT_TRUE(eventually([&] { return ends() == 1; }));
    EXPECT_TRUE(ok_) << why_;
    EXPECT_EQ(totals_.to_service, 4u);
    EXPECT_EQ(totals_.to_visitor, 7u);
    ASSERT_TRUE(eventually([&] { return back.finishes() == 1; }));
    EXPECT_TRUE(back.finish_ok());
}

TEST_F(splice_lab, two_ends_away_at_once_are_each_told_what_the_other_holds) {
    make_resumable();
    attach_both();
    visitor_.push_data(0, "ab", false, 0);
    ASSERT_TRUE(eventually([&] { return service_.data_sent() == "ab"; }));
    visitor_.break_read();
    service_.break_read();
    ASSERT_TRUE(eventually([&] { return visitor_.finishes() == 1 && service_.finishes() == 1; }));
    auto& v2 = another();
    auto& s2 = another();
    ASSERT_EQ(splice_->reattach(splice::service, &s2, {2, false}), "");
    std::this_thread::sleep_for(20ms);
    EXPECT_TRUE(s2.writes().empty());  // waits for the visitor
    ASSERT_EQ(splice_->reattach(splice::visitor, &v2, {5, false}), "");
    ASSERT_TRUE(eventually([&] { return !v2.writes().empty() && !s2.writes().empty(); }));
    EXPECT_EQ(head_of(v2.writes()[0])->point.received, 2u);
    EXPECT_EQ(head_of(s2.writes()[0])->point.received, 5u);
    s2.push_data(5, "more", false, 2);
    ASSERT_TRUE(eventually([&] { return v2.data_sent() == "more"; }));
    v2.push_data(2, "cd", false, 9);
    ASSERT_TRUE(eventually([&] { return s2.data_sent() == "cd"; }));
}

TEST_F(splice_lab, an_end_away_beyond_keep_ends_the_session_and_the_other_stream) {
    make_resumable(150ms);
    attach_both();
    visitor_.break_read();
    ASSERT_TRUE(eventually([&] { return ends() == 1; }));
    EXPECT_FALSE(ok_);
    EXPECT_NE(why_.find("visitor did not come back"), std::string::npos) << why_;
    ASSERT_TRUE(eventually([&] { return service_.finishes() == 1; }));
    EXPECT_FALSE(service_.finish_ok());
    auto& late = another();
    EXPECT_EQ(splice_->reattach(splice::visitor, &late, {0, false}), "no such session");
    EXPECT_FALSE(splice_->side_for(&visitor_run_, visitor_secret));
}

// A silent cut: the server still holds the visitor's old stream when the
// visitor comes back; the new stream, which proved the secret, replaces it.
TEST_F(splice_lab, a_return_over_a_stream_not_seen_broken_replaces_it) {
    make_resumable();
    attach_both();
    auto& back = another();
    ASSERT_EQ(splice_->reattach(splice::visitor, &back, {0, false}), "");
    ASSERT_TRUE(eventually([&] { return visitor_.finishes() == 1; }));
    EXPECT_FALSE(visitor_.finish_ok());
    ASSERT_TRUE(eventually([&] { return last_head(service_).has_value(); }));
    service_.push_head(frame_codec::encode_resume_head(frame_codec::f_resumed, {0, false}));
    ASSERT_TRUE(eventually([&] { return !back.writes().empty(); }));
    EXPECT_EQ(head_of(back.writes()[0])->which, frame_codec::f_resumed);
    back.push_data(0, "hi", false, 0);
    ASSERT_TRUE(eventually([&] { return service_.data_sent() == "hi"; }));
}

TEST_F(splice_lab, a_head_from_an_end_that_was_not_asked_to_rewind_is_a_protocol_error) {
    make_resumable();
    attach_both();
    service_.push_head(frame_codec::encode_resume_head(frame_codec::f_resumed, {0, false}));
    ASSERT_TRUE(eventually([&] { return ends() == 1; }));
    EXPECT_NE(why_.find("a second head"), std::string::npos) << why_;
}

}  // namespace
}  // namespace burrow::stream
