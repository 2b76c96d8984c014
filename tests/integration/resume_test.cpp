// Resumption in the pump, over fake carriers: a resumable session outlives
// its carrier, re-attaches a new one, replays exactly what the peer lacks and
// takes exactly what it lacks itself; one left detached too long is reset.
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "common/stream/frame_codec.hpp"
#include "common/stream/pump.hpp"
#include "tests/integration/fake_carrier.hpp"
#include "tests/integration/pump_lab.hpp"

namespace burrow::stream {
namespace {

using namespace fakes;
using namespace std::chrono_literals;

class resume_lab : public pump_lab {
protected:
    // A started session, resumable, that has sent `out` and received `in`.
    void start_resumable(const std::string& out, const std::string& in,
                         std::chrono::milliseconds keep = 30s) {
        start(ledger::default_replay_limit, true);
        pump_->set_resumable("0123456789abcdef", nullptr, keep, counter_, 7);
        if (!out.empty()) {
            ASSERT_EQ(user_write_some(out), out.size());
            ASSERT_TRUE(eventually([&] { return carrier_->data_sent() == out; }));
        }
        if (!in.empty()) {
            carrier_->push_data(0, in, false, 0);
            ASSERT_EQ(user_read(in.size()), in);
        }
    }
    // The user's next bytes go out in a write that the carrier fails.
    void fail_a_write() {
        carrier_->set_auto_complete(false);
        ASSERT_EQ(user_write_some("def"), 3u);
        ASSERT_TRUE(eventually([&] { return carrier_->writing(); }));
        carrier_->fail_write();
    }
    // The transport breaks: the pump must detach, not end.
    void cut() {
        carrier_->break_read();
        ASSERT_TRUE(eventually([&] { return pump_->detached(); }));
        ASSERT_TRUE(eventually([&] { return carrier_->finishes() == 1; }));
        EXPECT_FALSE(carrier_->finish_ok());
        EXPECT_FALSE(pump_->ended());
    }
    // A second carrier for the re-attach (its events are set by the pump).
    fake_carrier& fresh() {
        next_ = std::make_unique<fake_carrier>(io_);
        return *next_;
    }
    void TearDown() override {
        pump_lab::TearDown();  // the io thread is stopped before the carriers go
        next_.reset();
    }

    struct counter : resume_listener {
        void detached(std::uint64_t id) override {
            if (id == 7) ++count;
        }
        std::atomic<int> count{0};
    };
    std::unique_ptr<fake_carrier> next_;
    std::shared_ptr<counter> counter_ = std::make_shared<counter>();
};

TEST_F(resume_lab, a_reattached_session_replays_what_the_peer_lacks_and_goes_on) {
    start_resumable("abcdef", "xyz");
    cut();
    // The listener hears of it once the pump has let go of its lock.
    EXPECT_TRUE(eventually([&] { return counter_->count == 1; })) << counter_->count;
    EXPECT_TRUE(pump_->resume_secret_is("0123456789abcdef"));
    EXPECT_FALSE(pump_->resume_secret_is("0123456789abcdeX"));
    EXPECT_FALSE(pump_->resume_secret_is(""));
    // The user goes on sending while detached: kept for the replay.
    ASSERT_EQ(user_write_some("ghi"), 3u);
    ASSERT_TRUE(eventually([&] { return pump_->counts().sent == 9; }));
    const auto here = pump_->received_so_far();
    EXPECT_EQ(here.received, 3u);
    EXPECT_FALSE(here.fin);

    auto& c2 = fresh();
    ASSERT_EQ(pump_->reattach(&c2, {3, false}), "");  // the peer holds "abc"
    ASSERT_TRUE(eventually([&] { return c2.data_sent() == "defghi"; }));
    EXPECT_EQ(c2.writes().front().offset, 3u);
    EXPECT_FALSE(pump_->detached());
    EXPECT_EQ(pump_->counts().resumptions, 1u);

    // The peer continues its own stream where we said we are.
    c2.push_data(3, "uvw", false, 9);
    EXPECT_EQ(user_read(3), "uvw");
    ASSERT_TRUE(eventually([&] { return pump_->counts().unacked == 0; }));
    // New bytes follow the replay, at the next offset.
    ASSERT_EQ(user_write_some("jk"), 2u);
    ASSERT_TRUE(eventually([&] { return c2.data_sent() == "defghijk"; }));
    EXPECT_EQ(c2.writes().back().offset, 9u);
}

TEST_F(resume_lab, a_replayed_duplicate_from_the_peer_ends_the_session) {
    start_resumable("", "xyz");
    cut();
    auto& c2 = fresh();
    ASSERT_EQ(pump_->reattach(&c2, {0, false}), "");
    c2.push_data(0, "xyz", false, 0);  // bytes we said we hold
    ASSERT_TRUE(eventually([&] { return pump_->ended(); }));
    bool eof = false;
    EXPECT_EQ(user_read(3, &eof, 300ms), "");  // nothing delivered twice
}

TEST_F(resume_lab, the_answer_head_goes_first_with_our_resume_point) {
    start_resumable("ab", "hello");
    cut();
    auto& c2 = fresh();
    ASSERT_EQ(pump_->reattach(&c2, {1, false},
                              [](pump::resume_point p) {
                                  return "resumed " + std::to_string(p.received);
                              }),
              "");
    ASSERT_TRUE(eventually([&] { return c2.data_sent() == "b"; }));
    const auto w = c2.writes();
    ASSERT_GE(w.size(), 2u);
    EXPECT_EQ(w[0].type, frame::kind::head);
    EXPECT_EQ(w[0].bytes, "resumed 5");
    EXPECT_EQ(w[1].offset, 1u);
}

TEST_F(resume_lab, a_resume_point_outside_what_was_sent_is_refused) {
    start_resumable("abc", "");
    cut();
    auto& c2 = fresh();
    EXPECT_NE(pump_->reattach(&c2, {4, false}), "");  // beyond what was sent
    EXPECT_NE(pump_->reattach(&c2, {3, true}), "");   // a fin never sent
    EXPECT_TRUE(pump_->detached());
    EXPECT_TRUE(c2.writes().empty());
    EXPECT_EQ(c2.finishes(), 0);  // not taken: the caller's to finish
}

TEST_F(resume_lab, a_lost_fin_is_replayed) {
    start_resumable("abc", "");
    ASSERT_EQ(::shutdown(user_, SHUT_WR), 0);
    ASSERT_TRUE(eventually([&] { return carrier_->fin_sent(); }));
    cut();
    auto& c2 = fresh();
    ASSERT_EQ(pump_->reattach(&c2, {3, false}), "");  // the bytes arrived, the fin did not
    ASSERT_TRUE(eventually([&] { return c2.fin_sent(); }));
    const auto w = c2.writes();
    EXPECT_EQ(w.back().offset, 3u);
    EXPECT_EQ(w.back().bytes, "");
    // The peer's fin, acknowledging ours (one past the 3 bytes), ends the
    // session cleanly once our acknowledgement of its fin is out.
    c2.push_data(0, "", true, 4);
    ASSERT_TRUE(eventually([&] { return c2.finishes() == 1; }));
    EXPECT_TRUE(c2.finish_ok());
    EXPECT_EQ(c2.writes().back().ack, 1u);
}

// Both fins crossed, but the peer has not said that ours reached its end: a
// cut now is resumed, not taken for the end (the peer may lack our last bytes).
TEST_F(resume_lab, a_session_waits_for_its_fin_to_be_acknowledged_before_it_ends) {
    start_resumable("abc", "");
    ASSERT_EQ(::shutdown(user_, SHUT_WR), 0);
    ASSERT_TRUE(eventually([&] { return carrier_->fin_sent(); }));
    carrier_->push_data(0, "", true, 3);  // its fin; our 3 bytes arrived, our fin not yet
    ASSERT_TRUE(eventually([&] { return carrier_->writes().back().ack == 1u; }));  // we ack its fin
    std::this_thread::sleep_for(50ms);
    EXPECT_FALSE(pump_->ended());
    EXPECT_EQ(carrier_->finishes(), 0);
    cut();
    auto& c2 = fresh();
    ASSERT_EQ(pump_->reattach(&c2, {3, true}), "");  // it holds our fin: all is through
    ASSERT_TRUE(eventually([&] { return c2.finishes() == 1; }));
    EXPECT_TRUE(c2.finish_ok());
    EXPECT_TRUE(pump_->ended());
}

TEST_F(resume_lab, an_acknowledged_fin_ends_the_session_when_the_peer_finishes_first) {
    start_resumable("abc", "");
    ASSERT_EQ(::shutdown(user_, SHUT_WR), 0);
    ASSERT_TRUE(eventually([&] { return carrier_->fin_sent(); }));
    carrier_->push_data(0, "", true, 4);  // its fin, and ours acknowledged
    ASSERT_TRUE(eventually([&] { return carrier_->finishes() == 1; }));
    EXPECT_TRUE(carrier_->finish_ok());
}

TEST_F(resume_lab, a_carrier_still_attached_gives_way_to_the_new_one) {
    start_resumable("abc", "");
    auto& c2 = fresh();
    ASSERT_EQ(pump_->reattach(&c2, {3, false}), "");  // the old stream never broke here
    ASSERT_TRUE(eventually([&] { return carrier_->finishes() == 1; }));
    ASSERT_EQ(user_write_some("d"), 1u);
    ASSERT_TRUE(eventually([&] { return c2.data_sent() == "d"; }));
    EXPECT_EQ(carrier_->data_sent(), "abc");
}

TEST_F(resume_lab, a_session_not_resumed_in_time_is_reset) {
    start_resumable("abc", "", 200ms);
    cut();
    ASSERT_TRUE(eventually([&] { return pump_->ended(); }));
    char b;
    errno = 0;
    const auto n = ::recv(user_, &b, 1, 0);
    EXPECT_EQ(n, -1);  // a reset, not an orderly EOF
    EXPECT_EQ(errno, ECONNRESET);
}

// A session that ends for a reason of its own (here: its user reset the
// connection) tells its peer, which would otherwise take the stream's end
// for a break and wait for a re-attach.
TEST_F(resume_lab, a_session_that_ends_on_its_own_says_so_and_its_peer_ends_too) {
    start_resumable("abc", "");
    const linger reset{1, 0};
    ASSERT_EQ(::setsockopt(user_, SOL_SOCKET, SO_LINGER, &reset, sizeof reset), 0);
    ::close(user_);
    user_ = -1;
    ASSERT_TRUE(eventually([&] { return carrier_->finishes() == 1; }));
    const auto w = carrier_->writes();
    EXPECT_EQ(w.back().type, frame::kind::error);
    EXPECT_EQ(w.back().bytes, "session reset");
    EXPECT_TRUE(carrier_->finish_ok());  // left to the peer to finish, not cancelled
    EXPECT_FALSE(pump_->detached());
}

TEST_F(resume_lab, an_error_frame_from_the_peer_ends_the_session_without_a_detach) {
    start_resumable("abc", "");
    carrier_->push_error("session reset");
    ASSERT_TRUE(eventually([&] { return pump_->ended(); }));
    EXPECT_FALSE(pump_->detached());
    EXPECT_EQ(counter_->count, 0);
    for (const auto& w : carrier_->writes()) EXPECT_NE(w.type, frame::kind::error);
}

// The peer reset the session (its service aborted) and ended the stream:
// our write in flight fails, and gRPC may say so before the read brings the
// error frame. The session ends as the peer asked; it is not taken for a
// break (a futile re-attach, refused: "no such session").
TEST_F(resume_lab, a_write_that_fails_before_the_peers_error_frame_is_read_ends_without_a_detach) {
    start_resumable("abc", "");
    fail_a_write();
    carrier_->push_error("session reset");
    ASSERT_TRUE(eventually([&] { return pump_->ended(); }));
    EXPECT_FALSE(pump_->detached());
    EXPECT_EQ(counter_->count, 0);
}

// A write that fails with the transport still detaches, once the read fails
// too.
TEST_F(resume_lab, a_write_that_fails_with_the_transport_detaches_when_the_read_fails) {
    start_resumable("abc", "");
    fail_a_write();
    carrier_->break_read();
    ASSERT_TRUE(eventually([&] { return pump_->detached(); }));
    EXPECT_FALSE(pump_->ended());
    EXPECT_TRUE(eventually([&] { return counter_->count == 1; }));  // told after the detach
}

TEST_F(resume_lab, a_session_that_is_not_resumable_ends_when_its_carrier_breaks) {
    start();
    carrier_->break_read();
    ASSERT_TRUE(eventually([&] { return pump_->ended(); }));
    EXPECT_FALSE(pump_->detached());
}

// The visit splice tells the end whose stream held that the other end came
// back holding 2 bytes of ours: we answer with what we hold, on the same
// carrier, and replay from there; what the peer sends next continues our
// ledger exactly.
TEST_F(resume_lab, a_rewind_on_the_kept_carrier_answers_and_replays_from_the_peers_point) {
    start_resumable("abcdef", "xyz");
    carrier_->push_head(frame_codec::encode_resume_head(frame_codec::f_resume, {2, false}));
    ASSERT_TRUE(eventually([&] { return carrier_->data_sent() == "abcdefcdef"; }));
    const auto w = carrier_->writes();
    // abcdef, then the answer (we hold 3 bytes), then the replay from 2.
    ASSERT_GE(w.size(), 3u);
    std::size_t answer = 0;
    while (answer < w.size() && w[answer].type != frame::kind::head) ++answer;
    ASSERT_LT(answer + 1, w.size());
    const auto said = frame_codec::decode_resume_head(w[answer].bytes);
    ASSERT_TRUE(said);
    EXPECT_EQ(said->which, frame_codec::f_resumed);
    EXPECT_EQ(said->point.received, 3u);
    EXPECT_EQ(w[answer + 1].offset, 2u);
    EXPECT_FALSE(pump_->ended());
    EXPECT_EQ(pump_->counts().resumptions, 1u);
    carrier_->push_data(3, "uv", false, 6);
    EXPECT_EQ(user_read(2), "uv");
    ASSERT_TRUE(eventually([&] { return pump_->counts().unacked == 0; }));
}

TEST_F(resume_lab, a_rewind_to_a_point_never_sent_ends_the_session) {
    start_resumable("abc", "");
    carrier_->push_head(frame_codec::encode_resume_head(frame_codec::f_resume, {4, false}));
    ASSERT_TRUE(eventually([&] { return pump_->ended(); }));
}

TEST_F(resume_lab, a_rewind_to_a_session_that_is_not_resumable_is_a_second_head) {
    start(ledger::default_replay_limit, true);
    carrier_->push_head(frame_codec::encode_resume_head(frame_codec::f_resume, {0, false}));
    ASSERT_TRUE(eventually([&] { return pump_->ended(); }));
}

}  // namespace
}  // namespace burrow::stream
