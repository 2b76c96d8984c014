#include "common/p2p/punch_packet.hpp"

#include <gtest/gtest.h>

namespace burrow::punch {
namespace {

const key k = derive_key("another-secret", 77, "nonce-0123456789");

fields probe(std::uint32_t seq, role from = role::visitor) {
    return {type::probe, from, 77, seq, 123456789};
}

TEST(punch_packet, a_probe_round_trips_and_is_told_apart_from_stun_and_quic) {
    const auto p = encode(probe(5), k);
    EXPECT_TRUE(looks_like_punch(p));
    EXPECT_NE(p[0] & 0xC0, 0x40) << "QUIC packets have the fixed bit";
    EXPECT_GT(p[0], 0x03) << "STUN's first byte is 0x00 or 0x01";
    receiver home(k, 77, role::home);
    fields got;
    ASSERT_EQ(home.check(p, got), refusal::none);
    EXPECT_EQ(got.kind, type::probe);
    EXPECT_EQ(got.sender, role::visitor);
    EXPECT_EQ(got.seq, 5u);
    EXPECT_EQ(got.sent_us, 123456789u);
}

TEST(punch_packet, the_key_depends_on_the_secret_the_attempt_and_the_nonce) {
    EXPECT_NE(derive_key("another-secret", 78, "nonce-0123456789"), k);
    EXPECT_NE(derive_key("another-secreT", 77, "nonce-0123456789"), k);
    EXPECT_NE(derive_key("another-secret", 77, "nonce-0123456780"), k);
    EXPECT_EQ(derive_key("another-secret", 77, "nonce-0123456789"), k);
}

TEST(punch_packet, forged_truncated_and_altered_packets_are_refused) {
    receiver home(k, 77, role::home);
    fields got;
    // Made with another key (the server's visit_key, say): forged.
    const auto other = derive_key("guess", 77, "nonce-0123456789");
    EXPECT_EQ(home.check(encode(probe(1), other), got), refusal::forged);
    const auto good = encode(probe(2), k);
    for (std::size_t n = 0; n < packet_size; ++n)
        EXPECT_EQ(home.check(std::span(good).first(n), got), refusal::malformed) << n;
    for (std::size_t i = 1; i < packet_size; ++i) {  // every byte flipped
        auto bad = good;
        bad[i] ^= 0x01;
        const auto r = home.check(bad, got);
        EXPECT_TRUE(r == refusal::forged || r == refusal::malformed) << i;
    }
    std::array<std::uint8_t, packet_size + 1> longer{};
    std::copy(good.begin(), good.end(), longer.begin());
    EXPECT_EQ(home.check(longer, got), refusal::malformed);
    EXPECT_EQ(home.check(good, got), refusal::none) << "the good one still passes";
}

TEST(punch_packet, a_replayed_probe_is_refused_once_seen) {
    receiver home(k, 77, role::home);
    fields got;
    const auto p = encode(probe(10), k);
    EXPECT_EQ(home.check(p, got), refusal::none);
    EXPECT_EQ(home.check(p, got), refusal::replayed);
    // Out of order within the window is fine, once each.
    EXPECT_EQ(home.check(encode(probe(12), k), got), refusal::none);
    EXPECT_EQ(home.check(encode(probe(11), k), got), refusal::none);
    EXPECT_EQ(home.check(encode(probe(11), k), got), refusal::replayed);
    // Far behind the highest seen: refused, it cannot be told from a replay.
    EXPECT_EQ(home.check(encode(probe(200), k), got), refusal::none);
    EXPECT_EQ(home.check(encode(probe(12), k), got), refusal::replayed);
    EXPECT_EQ(home.check(encode(probe(137), k), got), refusal::none) << "63 behind: in the window";
}

TEST(punch_packet, our_own_probe_reflected_back_and_another_attempts_are_refused) {
    receiver visitor(k, 77, role::visitor);
    fields got;
    EXPECT_EQ(visitor.check(encode(probe(1, role::visitor), k), got), refusal::own_role);
    fields other = probe(1, role::home);
    other.punch_id = 78;
    EXPECT_EQ(visitor.check(encode(other, k), got), refusal::wrong_punch);
    EXPECT_EQ(visitor.check(encode(probe(1, role::home), k), got), refusal::none);
}

}  // namespace
}  // namespace burrow::punch
