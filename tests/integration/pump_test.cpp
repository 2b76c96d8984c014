// The pump over a fake carrier, with a real socket as its local end: what
// the pump does when the transport is slow, ends, breaks or never
// acknowledges. The fake completes every call later, on the io_context's
// thread, as the carrier contract demands.
#include "common/stream/pump.hpp"
#include "common/stream/registry.hpp"
#include "tests/integration/fake_carrier.hpp"
#include "tests/integration/pump_lab.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

namespace burrow::stream {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

using namespace fakes;

TEST_F(pump_lab, bytes_flow_both_ways_with_offsets_and_acks) {
    start();
    ASSERT_EQ(user_write_some("hello"), 5u);
    ASSERT_TRUE(eventually([&] { return carrier_->data_sent() == "hello"; }));
    EXPECT_EQ(carrier_->writes().front().offset, 0u);

    carrier_->push_data(0, "world!", false, 5);
    EXPECT_EQ(user_read(6), "world!");
    // The next data frame acknowledges what reached our socket.
    ASSERT_EQ(user_write_some("more"), 4u);
    ASSERT_TRUE(eventually([&] { return carrier_->data_sent() == "hellomore"; }));
    const auto last = carrier_->writes().back();
    EXPECT_EQ(last.offset, 5u);
    EXPECT_EQ(last.ack, 6u);
    EXPECT_EQ(pump_->counts().acked, 5u);  // the peer's ack on "world!"
}

TEST_F(pump_lab, a_slow_carrier_stops_the_socket_reader) {
    start();
    carrier_->set_auto_complete(false);
    // Far more than the pipeline holds: the pump reads one frame in flight
    // and one waiting, then leaves the socket alone.
    const std::string lots(8u << 20, 'x');
    std::size_t pushed = 0;
    for (int i = 0; i < 200; ++i) {
        pushed += user_write_some(lots.substr(0, 1u << 20));
        std::this_thread::sleep_for(1ms);
    }
    ASSERT_TRUE(eventually([&] { return carrier_->writing(); }));
    const auto taken = pump_->counts().sent;
    EXPECT_LE(taken, 2 * max_chunk);
    EXPECT_LT(taken, pushed);  // the rest waits in the socket
    EXPECT_EQ(carrier_->writes().size(), 1u);
    // Completions let it go on, and everything arrives in order.
    carrier_->set_auto_complete(true);
    ASSERT_TRUE(eventually([&] { return carrier_->data_sent().size() == pushed; }));
}

TEST_F(pump_lab, half_close_is_kept_both_ways_and_fin_comes_after_the_bytes) {
    start();
    // The peer's bytes then its fin: the user reads all, then EOF, and can
    // still send.
    carrier_->push_data(0, "abc", false, 0);
    carrier_->push_data(3, "def", true, 0);
    bool eof = false;
    EXPECT_EQ(user_read(100, &eof), "abcdef");
    EXPECT_TRUE(eof);
    ASSERT_EQ(user_write_some("late"), 4u);
    ASSERT_TRUE(eventually([&] { return carrier_->data_sent() == "late"; }));
    EXPECT_FALSE(carrier_->fin_sent());
    EXPECT_EQ(carrier_->finishes(), 0);
    // The user's EOF sends fin; both directions done: the carrier is
    // finished once, cleanly.
    ::shutdown(user_, SHUT_WR);
    ASSERT_TRUE(eventually([&] { return carrier_->finishes() == 1; }));
    EXPECT_TRUE(carrier_->finish_ok());
    EXPECT_TRUE(carrier_->fin_sent());
    EXPECT_TRUE(pump_->ended());
}

TEST_F(pump_lab, a_carrier_that_breaks_mid_stream_ends_the_session_once) {
    start();
    carrier_->push_data(0, "partial", false, 0);
    EXPECT_EQ(user_read(7), "partial");
    carrier_->break_read();
    ASSERT_TRUE(eventually([&] { return pump_->ended(); }));
    ASSERT_TRUE(eventually([&] { return carrier_->finishes() == 1; }));
    EXPECT_FALSE(carrier_->finish_ok());
    // The user's connection is closed, not left hanging.
    bool eof = false;
    user_read(1, &eof);
    EXPECT_TRUE(eof);
}

TEST_F(pump_lab, a_frame_that_breaks_the_stream_order_ends_the_session) {
    start();
    carrier_->push_data(5, "gap", false, 0);  // offset 5, the stream is at 0
    ASSERT_TRUE(eventually([&] { return pump_->ended(); }));
    EXPECT_FALSE(carrier_->finish_ok());
}

TEST_F(pump_lab, an_acknowledgement_beyond_what_was_sent_ends_the_session) {
    start();
    carrier_->push_data(0, "x", false, 1000);
    ASSERT_TRUE(eventually([&] { return pump_->ended(); }));
    EXPECT_FALSE(carrier_->finish_ok());
}

TEST_F(pump_lab, unacknowledged_bytes_are_kept_and_bounded_until_the_peer_acks) {
    constexpr std::size_t limit = 1u << 20;
    start(limit);
    const std::string block(256u << 10, 'r');
    std::size_t pushed = 0;
    for (int i = 0; i < 100; ++i) {
        pushed += user_write_some(block);
        std::this_thread::sleep_for(1ms);
    }
    // Every write completes, but no acknowledgement comes: the pump keeps
    // what it sent, up to its bound plus the frame that crossed it, and
    // leaves the rest in the socket.
    ASSERT_TRUE(eventually([&] { return pump_->counts().unacked >= limit; }));
    ASSERT_TRUE(eventually([&] { return !carrier_->writing(); }));
    const auto c = pump_->counts();
    EXPECT_LT(c.unacked, limit + max_chunk + 1);
    EXPECT_EQ(c.unacked, c.sent);
    EXPECT_LT(c.sent, pushed);
    // The peer acknowledges everything: the replay is freed, reading goes on.
    carrier_->push_data(0, "", false, c.sent);
    ASSERT_TRUE(eventually([&] { return pump_->counts().sent > c.sent; }));
    EXPECT_LT(pump_->counts().unacked, limit + max_chunk + 1);
}

bool ack_only_with(fake_carrier& c, std::uint64_t ack) {
    for (const auto& w : c.writes())
        if (w.type == frame::kind::data && w.bytes.empty() && !w.fin && w.ack == ack) return true;
    return false;
}

TEST_F(pump_lab, delivered_bytes_are_acknowledged_alone_when_nothing_goes_back) {
    start();
    carrier_->push_data(0, std::string(1000, 'a'), false, 0);
    EXPECT_EQ(user_read(1000).size(), 1000u);
    // A few bytes wait for a data frame to carry their acknowledgement...
    EXPECT_FALSE(ack_only_with(*carrier_, 1000));
    // ...until the sweep asks for an ack-only frame.
    pump_->flush_ack();
    ASSERT_TRUE(eventually([&] { return ack_only_with(*carrier_, 1000); }));
    // Many bytes get one at once.
    const std::string lots(ledger::ack_every, 'b');
    for (std::size_t at = 0; at < lots.size(); at += 512u << 10)
        carrier_->push_data(1000 + at, lots.substr(at, 512u << 10), false, 0);
    EXPECT_EQ(user_read(lots.size()).size(), lots.size());
    ASSERT_TRUE(eventually([&] { return ack_only_with(*carrier_, 1000 + lots.size()); }));
}

TEST_F(pump_lab, the_registry_sweep_acknowledges_for_idle_sessions) {
    start();
    auto& sessions = sessions_;
    ASSERT_TRUE(sessions.add(1, pump_));
    sessions.sweep_acks_every(io_.get_executor(), 20ms);
    carrier_->push_data(0, "xyz", false, 0);
    EXPECT_EQ(user_read(3), "xyz");
    ASSERT_TRUE(eventually([&] { return ack_only_with(*carrier_, 3); }));
    pump_->close("test over");
    ASSERT_TRUE(eventually([&] { return sessions.size() == 0; }));
}

TEST_F(pump_lab, a_detached_session_keeps_its_socket_and_a_bounded_replay) {
    constexpr std::size_t limit = 1u << 20;
    start(limit);
    ASSERT_EQ(user_write_some("before"), 6u);
    ASSERT_TRUE(eventually([&] { return carrier_->data_sent() == "before"; }));

    pump_->detach();
    ASSERT_TRUE(eventually([&] { return carrier_->finishes() == 1; }));
    EXPECT_FALSE(carrier_->finish_ok());  // abandoned, not ended
    EXPECT_FALSE(pump_->ended());
    const auto frames = carrier_->writes().size();

    // The user goes on sending: the pump keeps reading, into the ledger
    // only, up to its bound, and leaves the rest in the socket.
    const std::string block(256u << 10, 'd');
    std::size_t pushed = 6;
    for (int i = 0; i < 40; ++i) {
        pushed += user_write_some(block);
        std::this_thread::sleep_for(1ms);
    }
    ASSERT_TRUE(eventually([&] { return pump_->counts().unacked >= limit; }));
    const auto c = pump_->counts();
    EXPECT_LT(c.unacked, limit + max_chunk + 1);
    EXPECT_LT(c.sent, pushed);
    EXPECT_EQ(carrier_->writes().size(), frames);  // nothing went to the old carrier
    EXPECT_EQ(carrier_->finishes(), 1);
    // The user's connection is still open: nothing arrives, no EOF.
    bool eof = false;
    EXPECT_EQ(user_read(1, &eof, 300ms), "");
    EXPECT_FALSE(eof);
}

TEST_F(pump_lab, the_registry_keeps_a_session_until_its_pump_ends) {
    start();
    auto& sessions = sessions_;
    ASSERT_TRUE(sessions.add(7, pump_));
    EXPECT_FALSE(sessions.add(7, pump_));  // one session per id
    EXPECT_EQ(sessions.find(7), pump_);
    EXPECT_EQ(sessions.size(), 1u);

    pump_->close("gone");
    ASSERT_TRUE(eventually([&] { return sessions.size() == 0; }));
    EXPECT_EQ(sessions.find(7), nullptr);
    // A pump that has ended already is let go at once.
    EXPECT_TRUE(sessions.add(8, pump_));
    EXPECT_EQ(sessions.size(), 0u);
}

}  // namespace
}  // namespace burrow::stream
