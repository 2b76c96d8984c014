#include "common/stream/ledger.hpp"

#include <string>

#include <gtest/gtest.h>

#include "common/stream/frame.hpp"

namespace burrow::stream {
namespace {

chunk bytes_of(const std::string& s) {
    return chunk::copy_of({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
}

std::string replayed(const ledger& l) {
    std::string out;
    for (const auto& c : l.replay()) out.append(reinterpret_cast<const char*>(c.data()), c.size());
    return out;
}

// ---- inbound ----

TEST(ledger, accepts_a_contiguous_stream_ending_in_fin) {
    ledger in;
    EXPECT_EQ(in.accept(0, 100, false), "");
    EXPECT_EQ(in.accept(100, 50, false), "");
    EXPECT_EQ(in.accept(150, 0, false), "");  // an ack-only frame
    EXPECT_EQ(in.accept(150, 10, true), "");
    EXPECT_EQ(in.received(), 160u);
    EXPECT_TRUE(in.inbound_finished());
}

TEST(ledger, rejects_gaps_and_overlaps) {
    ledger in;
    ASSERT_EQ(in.accept(0, 100, false), "");
    EXPECT_NE(in.accept(101, 1, false).find("offset 101"), std::string::npos);
    EXPECT_NE(in.accept(99, 1, false).find("offset 99"), std::string::npos);
    EXPECT_EQ(in.received(), 100u);
}

TEST(ledger, rejects_data_after_fin_but_takes_acknowledgements) {
    ledger in;
    ASSERT_EQ(in.accept(0, 0, true), "");
    EXPECT_EQ(in.accept(0, 1, false), "data after fin");
    EXPECT_EQ(in.accept(0, 0, true), "data after fin");
    EXPECT_EQ(in.accept(1, 0, false), "data after fin");
    // The other direction may still flow: its acknowledgements come alone.
    EXPECT_EQ(in.accept(0, 0, false), "");
}

// Found by fuzzing (tests/fuzz/regressions/ledger): an ack-only frame after
// the peer's fin (it acknowledges our bytes) must not make the fin forgotten.
TEST(ledger, the_peers_fin_stays_after_an_ack_only_frame) {
    ledger in;
    ASSERT_EQ(in.accept(0, 10, true), "");
    ASSERT_EQ(in.accept(10, 0, false), "");
    EXPECT_TRUE(in.inbound_finished());
    EXPECT_EQ(in.accept(10, 1, false), "data after fin");
}

TEST(ledger, bounds_the_frame_size) {
    ledger in;
    EXPECT_EQ(in.accept(0, max_frame_data, false), "");
    EXPECT_NE(in.accept(max_frame_data, max_frame_data + 1, false).find("exceeds"),
              std::string::npos);
}

TEST(ledger, acknowledges_what_was_delivered_once_enough_or_asked) {
    ledger l;
    ASSERT_EQ(l.accept(0, 1000, false), "");
    EXPECT_FALSE(l.ack_pending());
    l.delivered(600);
    EXPECT_TRUE(l.ack_pending());
    EXPECT_FALSE(l.ack_due());  // a data frame or the delay timer will carry it
    EXPECT_EQ(l.take_ack(), 600u);
    EXPECT_FALSE(l.ack_pending());
    // Frames of up to max_frame_data, until ack_every bytes wait.
    std::uint64_t at = 1000;
    l.delivered(400);
    while (!l.ack_due()) {
        ASSERT_EQ(l.accept(at, max_frame_data, false), "");
        at += max_frame_data;
        l.delivered(max_frame_data);
    }
    EXPECT_EQ(l.take_ack(), at);
    EXPECT_GE(at - 600, ledger::ack_every);
    EXPECT_FALSE(l.ack_due());
}

// ---- outbound ----

TEST(ledger, keeps_sent_bytes_until_acknowledged_then_holds_nothing) {
    ledger l;
    l.sent(bytes_of("hello "));
    l.sent(bytes_of("world"));
    EXPECT_EQ(l.sent(), 11u);
    EXPECT_EQ(l.unacked(), 11u);
    EXPECT_EQ(replayed(l), "hello world");

    ASSERT_EQ(l.acknowledged(3), "");  // inside the first chunk
    EXPECT_EQ(replayed(l), "lo world");
    ASSERT_EQ(l.acknowledged(6), "");  // exactly at a chunk's end
    EXPECT_EQ(replayed(l), "world");
    ASSERT_EQ(l.acknowledged(6), "");  // repeated: nothing changes
    ASSERT_EQ(l.acknowledged(11), "");
    EXPECT_EQ(l.unacked(), 0u);
    EXPECT_TRUE(l.replay().empty());
}

TEST(ledger, refuses_acknowledgements_that_go_back_or_beyond_what_was_sent) {
    ledger l;
    l.sent(bytes_of("abcdef"));
    ASSERT_EQ(l.acknowledged(4), "");
    EXPECT_NE(l.acknowledged(3).find("goes back"), std::string::npos);
    EXPECT_NE(l.acknowledged(7).find("beyond"), std::string::npos);
    EXPECT_EQ(l.acked(), 4u);
    EXPECT_EQ(replayed(l), "ef");
}

TEST(ledger, bounds_unacknowledged_bytes) {
    ledger l(10);
    l.sent(bytes_of("0123456789"));
    EXPECT_FALSE(l.room());  // the pump stops reading its local end
    ASSERT_EQ(l.acknowledged(1), "");
    EXPECT_TRUE(l.room());
}

// All sessions together are bounded too: past the process's bound a session
// that holds more than the floor stops reading; one below it goes on (its
// own acknowledgements free what it holds, so nobody waits for a wake-up).
TEST(ledger, the_process_bound_holds_back_sessions_above_the_floor) {
    const auto before = ledger::process_held();
    ledger::configure(ledger::default_replay_limit, before + (1u << 20));
    {
        ledger big, small;
        big.sent(bytes_of(std::string(1u << 20, 'b')));
        EXPECT_EQ(ledger::process_held(), before + (1u << 20));
        EXPECT_FALSE(big.room());  // over the floor, and the process is full
        small.sent(bytes_of("s"));
        EXPECT_TRUE(small.room());  // below the floor
        ASSERT_EQ(big.acknowledged(600u << 10), "");
        EXPECT_TRUE(big.room());
        big.drop_replay();
        EXPECT_EQ(ledger::process_held(), before + 1);
    }
    EXPECT_EQ(ledger::process_held(), before);  // a ledger that goes releases what it held
    ledger::configure(ledger::default_replay_limit, ledger::default_process_limit);
}

TEST(ledger, a_long_stream_keeps_only_its_unacknowledged_tail) {
    ledger l;
    std::string all;
    for (int i = 0; i < 1000; ++i) {
        const std::string piece = std::to_string(i) + ",";
        all += piece;
        l.sent(bytes_of(piece));
        if (i % 7 == 0 && all.size() > 5) {
            ASSERT_EQ(l.acknowledged(all.size() - 5), "");
        }
    }
    EXPECT_EQ(replayed(l), all.substr(l.acked()));
    EXPECT_EQ(l.unacked(), all.size() - l.acked());
}

// The fin counts as one byte in acknowledgements, both ways.
TEST(ledger, acknowledges_the_fin_as_one_byte_past_the_stream) {
    ledger in;
    ASSERT_EQ(in.accept(0, 3, true), "");
    in.delivered(3);
    EXPECT_EQ(in.take_ack(), 3u);  // the bytes, not yet the fin
    EXPECT_FALSE(in.ack_due());
    in.delivered_fin();
    EXPECT_TRUE(in.ack_pending());
    EXPECT_TRUE(in.ack_due());  // owed at once: the peer waits for it
    EXPECT_EQ(in.take_ack(), 4u);
    EXPECT_FALSE(in.ack_pending());

    ledger out;
    out.sent(bytes_of("abc"));
    EXPECT_NE(out.acknowledged(4), "");  // no fin sent: one past is too far
    out.sent_fin();
    ASSERT_EQ(out.acknowledged(3), "");
    EXPECT_FALSE(out.fin_acknowledged());
    ASSERT_EQ(out.acknowledged(4), "");
    EXPECT_TRUE(out.fin_acknowledged());
    EXPECT_EQ(out.acked(), 3u);
    EXPECT_EQ(out.unacked(), 0u);
    EXPECT_NE(out.acknowledged(5), "");

    ledger resumed;
    resumed.sent(bytes_of("x"));
    resumed.peer_holds_fin();
    EXPECT_FALSE(resumed.fin_acknowledged());  // no fin of ours to hold
    resumed.sent_fin();
    resumed.peer_holds_fin();
    EXPECT_TRUE(resumed.fin_acknowledged());
}

TEST(ledger, remembers_the_most_it_held_at_once) {
    ledger l;
    EXPECT_EQ(l.peak_held(), 0u);
    l.sent(bytes_of("0123456789"));
    EXPECT_EQ(l.peak_held(), 10u);  // before any acknowledgement
    ASSERT_EQ(l.acknowledged(8), "");
    l.sent(bytes_of("abcd"));
    EXPECT_EQ(l.unacked(), 6u);
    EXPECT_EQ(l.peak_held(), 10u);
    l.sent(bytes_of("efghijklm"));
    EXPECT_EQ(l.peak_held(), 15u);  // 2 + 4 + 9 unacknowledged
    ASSERT_EQ(l.acknowledged(l.sent()), "");
    EXPECT_EQ(l.peak_held(), 15u);
    l.sent(bytes_of("xy"));
    l.drop_replay();
    EXPECT_EQ(l.peak_held(), 15u);
}

TEST(ledger, drop_replay_frees_what_was_kept) {
    ledger l;
    l.sent(bytes_of("payload"));
    l.drop_replay();
    EXPECT_TRUE(l.replay().empty());
}

}  // namespace
}  // namespace burrow::stream
