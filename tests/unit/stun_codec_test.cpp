#include "common/stun/codec.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/stun_testing.hpp"

namespace burrow::stun {
namespace {

using namespace vectors_and_helpers;
using namespace rfc5769;

// --- RFC 5769 vectors --------------------------------------------------------

TEST(stun_codec, parses_the_rfc5769_sample_request) {
    message m;
    ASSERT_EQ(parse(sample_request, m), parse_error::none);
    EXPECT_EQ(m.method, binding);
    EXPECT_EQ(m.cls, msg_class::request);
    EXPECT_EQ(m.txid, sample_txid);
    EXPECT_TRUE(m.has_fingerprint);
    EXPECT_EQ(m.bytes.size(), sizeof sample_request);
    ASSERT_EQ(m.attributes.size(), 6u);
    ASSERT_NE(m.find(attr::software), nullptr);
    EXPECT_EQ(as_text(m.find(attr::software)->value), "STUN test client");
    ASSERT_NE(m.find(attr::username), nullptr);
    EXPECT_EQ(as_text(m.find(attr::username)->value), "evtj:h6vY");
    EXPECT_EQ(m.find(attr::username)->offset, 60u);
    EXPECT_EQ(m.find(attr::xor_mapped_address), nullptr);
    EXPECT_EQ(change_request(m), 0u) << "absent";
    EXPECT_TRUE(check_integrity(m, short_term_password));
    EXPECT_FALSE(check_integrity(m, as_bytes("VOkJxbRl1RmTxUk/WvJxBT")));
    EXPECT_FALSE(check_integrity(m, {}));
    EXPECT_TRUE(looks_like_stun(sample_request));
}

TEST(stun_codec, parses_the_rfc5769_ipv4_response) {
    message m;
    ASSERT_EQ(parse(sample_ipv4_response, m), parse_error::none);
    EXPECT_EQ(m.method, binding);
    EXPECT_EQ(m.cls, msg_class::success);
    EXPECT_EQ(m.txid, sample_txid);
    EXPECT_TRUE(m.has_fingerprint);
    ASSERT_NE(m.find(attr::software), nullptr);
    EXPECT_EQ(as_text(m.find(attr::software)->value), "test vector");
    EXPECT_EQ(address_attribute(m, attr::xor_mapped_address), endpoint("192.0.2.1", 32853));
    EXPECT_EQ(mapped_address(m), endpoint("192.0.2.1", 32853));
    EXPECT_TRUE(check_integrity(m, short_term_password));
    EXPECT_FALSE(check_integrity(m, as_bytes("evtj:h6vY")));
}

TEST(stun_codec, parses_the_rfc5769_ipv6_response) {
    message m;
    ASSERT_EQ(parse(sample_ipv6_response, m), parse_error::none);
    EXPECT_EQ(m.method, binding);
    EXPECT_EQ(m.cls, msg_class::success);
    EXPECT_TRUE(m.has_fingerprint);
    EXPECT_EQ(mapped_address(m), endpoint("2001:db8:1234:5678:11:2233:4455:6677", 32853));
    EXPECT_TRUE(check_integrity(m, short_term_password));
    EXPECT_FALSE(check_integrity(m, as_bytes("VOkJxbRl1RmTxUk/WvJxB")));
}

TEST(stun_codec, checks_the_rfc5769_long_term_authentication_request) {
    message m;
    ASSERT_EQ(parse(sample_long_term_request, m), parse_error::none);
    EXPECT_EQ(m.method, binding);
    EXPECT_EQ(m.cls, msg_class::request);
    EXPECT_FALSE(m.has_fingerprint);
    ASSERT_NE(m.find(attr::username), nullptr);
    EXPECT_EQ(as_text(m.find(attr::username)->value), long_term_username);
    ASSERT_NE(m.find(attr::realm), nullptr);
    EXPECT_EQ(as_text(m.find(attr::realm)->value), "example.org");
    ASSERT_NE(m.find(attr::nonce), nullptr);
    EXPECT_EQ(as_text(m.find(attr::nonce)->value), "f//499k954d6OL34oL9FSTvy64sA");

    const auto key = long_term_key(long_term_username, "example.org", "TheMatrIX");
    EXPECT_TRUE(check_integrity(m, key));
    EXPECT_FALSE(check_integrity(m, long_term_key(long_term_username, "example.org", "TheMatrix")));
    EXPECT_FALSE(check_integrity(m, long_term_key(long_term_username, "example.com", "TheMatrIX")));
    EXPECT_FALSE(check_integrity(m, as_bytes("TheMatrIX"))) << "the password is not the key";

    // One byte changed under MESSAGE-INTEGRITY (no FINGERPRINT to catch it).
    bytes altered(std::begin(sample_long_term_request), std::end(sample_long_term_request));
    altered[32] ^= 0x01;
    ASSERT_EQ(parse(altered, m), parse_error::none);
    EXPECT_FALSE(check_integrity(m, key));
}

TEST(stun_codec, the_long_term_key_is_md5_of_username_realm_and_password) {
    // md5sum of "alice:burrow.test:s3cret".
    const std::array<std::uint8_t, 16> expected = {0xda, 0x0f, 0x95, 0x72, 0xb5, 0x01, 0x96, 0xb6,
                                                   0xe8, 0x06, 0x3f, 0x24, 0xa8, 0x98, 0xac, 0xb8};
    EXPECT_EQ(long_term_key("alice", "burrow.test", "s3cret"), expected);
}

TEST(stun_codec, crc32_is_the_zlib_crc) {
    EXPECT_EQ(crc32(as_bytes("123456789")), 0xCBF43926u);  // the CRC-32/ISO-HDLC check value
    EXPECT_EQ(crc32({}), 0u);
    // FINGERPRINT of §2.1: the CRC of everything before it, XOR "STUN".
    EXPECT_EQ(crc32(std::span(sample_request).first(sample_request_fingerprint_at)) ^ 0x5354554Eu, 0xe57a3bcfu);
}

// --- Builder -----------------------------------------------------------------

TEST(stun_codec, method_and_class_round_trip_through_the_type_bits) {
    const auto type_of = [](std::uint16_t method, msg_class cls) {
        const builder b(method, cls, sample_txid);
        return static_cast<std::uint16_t>((b.bytes()[0] << 8) | b.bytes()[1]);
    };
    // RFC 8489 §6 and RFC 5769: the four Binding types.
    EXPECT_EQ(type_of(binding, msg_class::request), 0x0001);
    EXPECT_EQ(type_of(binding, msg_class::indication), 0x0011);
    EXPECT_EQ(type_of(binding, msg_class::success), 0x0101);
    EXPECT_EQ(type_of(binding, msg_class::error), 0x0111);
    EXPECT_EQ(type_of(0x0FFF, msg_class::error), 0x3FFF);
    EXPECT_EQ(type_of(0x0FFF, msg_class::request), 0x3EEF);

    for (const std::uint16_t method : {0x000, 0x001, 0x003, 0x00F, 0x010, 0x070, 0x080, 0x0A5, 0xF80, 0xFFF}) {
        for (const auto cls : {msg_class::request, msg_class::indication, msg_class::success, msg_class::error}) {
            const builder b(method, cls, sample_txid);
            message m;
            ASSERT_EQ(parse(b.bytes(), m), parse_error::none);
            EXPECT_EQ(m.method, method);
            EXPECT_EQ(m.cls, cls);
            EXPECT_EQ(m.txid, sample_txid);
            EXPECT_TRUE(m.attributes.empty());
        }
    }
}

TEST(stun_codec, builds_the_rfc5769_xor_mapped_address_bytes) {
    // Same transaction id as §2.2/§2.3: the attribute must come out identical.
    // bytes() views the builder, so the builder must outlive it.
    builder b4(binding, msg_class::success, sample_txid);
    const auto v4 = b4.xor_mapped_address(endpoint("192.0.2.1", 32853)).bytes();
    ASSERT_EQ(v4.size(), 32u);
    EXPECT_TRUE(std::equal(v4.begin() + 20, v4.end(), std::begin(sample_ipv4_response) + 36));

    builder b6(binding, msg_class::success, sample_txid);
    const auto v6 = b6.xor_mapped_address(endpoint("2001:db8:1234:5678:11:2233:4455:6677", 32853)).bytes();
    ASSERT_EQ(v6.size(), 44u);
    EXPECT_TRUE(std::equal(v6.begin() + 20, v6.end(), std::begin(sample_ipv6_response) + 36));
}

TEST(stun_codec, a_success_response_round_trips_ipv4_and_ipv6_endpoints) {
    const transaction_id txid = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    for (const auto& ep : {endpoint("203.0.113.7", 40000), endpoint("0.0.0.0", 0), endpoint("255.255.255.255", 65535),
                           endpoint("2001:db8::1", 3478), endpoint("::", 1), endpoint("fe80::1:2:3:4", 65535)}) {
        builder b(binding, msg_class::success, txid);
        const auto packet = b.xor_mapped_address(ep).bytes();
        message m;
        ASSERT_EQ(parse(packet, m), parse_error::none) << ep;
        EXPECT_EQ(m.cls, msg_class::success);
        EXPECT_EQ(m.txid, txid);
        EXPECT_EQ(mapped_address(m), ep);
        EXPECT_EQ(address_attribute(m, attr::xor_mapped_address), ep);
        EXPECT_EQ(address_attribute(m, attr::mapped_address), std::nullopt);
    }
}

TEST(stun_codec, a_request_round_trips_change_request) {
    builder b(binding, msg_class::request, sample_txid);
    b.change_request(change_port);
    message m;
    ASSERT_EQ(parse(b.bytes(), m), parse_error::none);
    EXPECT_EQ(m.cls, msg_class::request);
    EXPECT_EQ(change_request(m), change_port);
    EXPECT_EQ(mapped_address(m), std::nullopt);

    builder both(binding, msg_class::request, sample_txid);
    both.change_request(change_ip | change_port);
    ASSERT_EQ(parse(both.bytes(), m), parse_error::none);
    EXPECT_EQ(change_request(m), change_ip | change_port);
}

TEST(stun_codec, built_integrity_and_fingerprint_verify) {
    const auto key = as_bytes("a short-term password");
    builder b(binding, msg_class::success, sample_txid);
    b.software("burrow").xor_mapped_address(endpoint("198.51.100.20", 51000)).integrity(key).fingerprint();
    message m;
    ASSERT_EQ(parse(b.bytes(), m), parse_error::none);
    EXPECT_TRUE(m.has_fingerprint);
    EXPECT_TRUE(check_integrity(m, key));
    EXPECT_FALSE(check_integrity(m, as_bytes("a short-term passworD")));
    EXPECT_EQ(mapped_address(m), endpoint("198.51.100.20", 51000));
    EXPECT_EQ(as_text(m.find(attr::software)->value), "burrow");
    EXPECT_EQ(b.bytes().size() % 4, 0u);

    // Integrity alone, and with the long-term key, and with an empty key.
    const auto lt = long_term_key("user", "realm", "pass");
    builder alone(binding, msg_class::request, sample_txid);
    alone.change_request(change_port).integrity(lt);
    ASSERT_EQ(parse(alone.bytes(), m), parse_error::none);
    EXPECT_FALSE(m.has_fingerprint);
    EXPECT_TRUE(check_integrity(m, lt));
    EXPECT_FALSE(check_integrity(m, key));

    builder empty_key(binding, msg_class::request, sample_txid);
    empty_key.integrity({}).fingerprint();
    ASSERT_EQ(parse(empty_key.bytes(), m), parse_error::none);
    EXPECT_TRUE(check_integrity(m, {}));
    EXPECT_FALSE(check_integrity(m, key));

    // Fingerprint alone.
    builder fp(binding, msg_class::request, sample_txid);
    fp.fingerprint();
    ASSERT_EQ(parse(fp.bytes(), m), parse_error::none);
    EXPECT_TRUE(m.has_fingerprint);
    EXPECT_FALSE(check_integrity(m, key)) << "no MESSAGE-INTEGRITY";
}

TEST(stun_codec, software_is_cut_to_128_bytes_at_a_character_boundary) {
    message m;
    builder ascii(binding, msg_class::success, sample_txid);
    ascii.software(std::string(300, 'a'));
    ASSERT_EQ(parse(ascii.bytes(), m), parse_error::none);
    EXPECT_EQ(m.find(attr::software)->value.size(), 128u);

    // 127 ASCII bytes then a 2-byte character: cut before it, not through it.
    builder utf8(binding, msg_class::success, sample_txid);
    utf8.software(std::string(127, 'a') + "\xc3\xa9" + "tail");
    ASSERT_EQ(parse(utf8.bytes(), m), parse_error::none);
    EXPECT_EQ(as_text(m.find(attr::software)->value), std::string(127, 'a'));

    builder short_name(binding, msg_class::success, sample_txid);
    short_name.software("burrow 0.1");
    ASSERT_EQ(parse(short_name.bytes(), m), parse_error::none);
    EXPECT_EQ(as_text(m.find(attr::software)->value), "burrow 0.1");
    // Padding is zeros.
    const auto b = short_name.bytes();
    EXPECT_EQ(b.size(), 20u + 4u + 12u);
    EXPECT_EQ(b[34], 0);
    EXPECT_EQ(b[35], 0);
}

TEST(stun_codec, the_builder_never_writes_past_its_buffer) {
    // 132 bytes each: 4 fill the 548 exactly; nothing fits after them.
    builder full(binding, msg_class::success, sample_txid);
    for (int i = 0; i < 10; ++i) full.software(std::string(128, 's'));
    EXPECT_EQ(full.bytes().size(), max_message_size);
    full.change_request(change_port).xor_mapped_address(endpoint("192.0.2.1", 1));
    full.integrity(short_term_password).fingerprint();
    EXPECT_EQ(full.bytes().size(), max_message_size);
    // Still a well-formed message: what did not fit was left out whole.
    message m;
    ASSERT_EQ(parse(full.bytes(), m), parse_error::none);
    EXPECT_EQ(m.attributes.size(), 4u);
    EXPECT_FALSE(m.has_fingerprint);
    EXPECT_EQ(m.find(attr::message_integrity), nullptr);

    // 104 bytes each: 5 make 540; an IPv6 address (24) does not fit, a
    // CHANGE-REQUEST (8) does, exactly.
    builder nearly(binding, msg_class::success, sample_txid);
    for (int i = 0; i < 5; ++i) nearly.software(std::string(100, 's'));
    nearly.xor_mapped_address(endpoint("2001:db8::1", 1)).change_request(change_port).fingerprint();
    EXPECT_EQ(nearly.bytes().size(), max_message_size);
    ASSERT_EQ(parse(nearly.bytes(), m), parse_error::none);
    EXPECT_EQ(mapped_address(m), std::nullopt);
    EXPECT_EQ(change_request(m), change_port);
    EXPECT_FALSE(m.has_fingerprint);
}

TEST(stun_codec, binding_answer_takes_only_the_success_answer_to_our_request) {
    const auto ep = endpoint("203.0.113.70", 40000);
    builder ok(binding, msg_class::success, sample_txid);
    ok.xor_mapped_address(ep).fingerprint();
    EXPECT_EQ(binding_answer(ok.bytes(), sample_txid), ep);
    auto other_txid = sample_txid;
    other_txid[0] ^= 1;
    EXPECT_EQ(binding_answer(ok.bytes(), other_txid), std::nullopt);
    builder request(binding, msg_class::request, sample_txid);
    request.xor_mapped_address(ep);
    EXPECT_EQ(binding_answer(request.bytes(), sample_txid), std::nullopt);
    builder error(binding, msg_class::error, sample_txid);
    error.xor_mapped_address(ep);
    EXPECT_EQ(binding_answer(error.bytes(), sample_txid), std::nullopt);
    EXPECT_EQ(binding_answer(std::span(sample_request).first(19), sample_txid), std::nullopt);
}

}  // namespace
}  // namespace burrow::stun
