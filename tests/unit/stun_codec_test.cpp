#include "common/stun/codec.hpp"

#include <algorithm>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/stun_vectors.hpp"

namespace burrow::stun {
namespace {

namespace ip = boost::asio::ip;
using bytes = std::vector<std::uint8_t>;
using namespace rfc5769;

std::span<const std::uint8_t> as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
std::string_view as_text(std::span<const std::uint8_t> b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

const auto short_term_password = as_bytes("VOkJxbRl1RmTxUk/WvJxBt");

udp_endpoint endpoint(std::string_view address, std::uint16_t port) {
    return {ip::make_address(address), port};
}

// A message from raw attributes, each written as given (no check of its
// length against its value), padded with zeros; the header's length matches.
struct raw_attribute {
    std::uint16_t type;
    bytes value;
    std::uint16_t claimed_length = 0xFFFF;  // 0xFFFF: the value's real length
};
bytes compose(std::uint16_t type, std::initializer_list<raw_attribute> attributes) {
    bytes m = {static_cast<std::uint8_t>(type >> 8), static_cast<std::uint8_t>(type), 0, 0, 0x21, 0x12, 0xa4, 0x42};
    m.insert(m.end(), sample_txid.begin(), sample_txid.end());
    for (const auto& a : attributes) {
        const std::size_t length = a.claimed_length == 0xFFFF ? a.value.size() : a.claimed_length;
        m.push_back(static_cast<std::uint8_t>(a.type >> 8));
        m.push_back(static_cast<std::uint8_t>(a.type));
        m.push_back(static_cast<std::uint8_t>(length >> 8));
        m.push_back(static_cast<std::uint8_t>(length));
        m.insert(m.end(), a.value.begin(), a.value.end());
        m.resize((m.size() + 3) & ~std::size_t{3}, 0);
    }
    const std::size_t length = m.size() - header_size;
    m[2] = static_cast<std::uint8_t>(length >> 8);
    m[3] = static_cast<std::uint8_t>(length);
    return m;
}

parse_error parse_bytes(std::span<const std::uint8_t> packet) {
    message m;
    return parse(packet, m);
}

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

// --- Hostile input -----------------------------------------------------------

TEST(stun_codec, every_truncation_of_the_sample_request_is_an_error) {
    for (std::size_t n = 0; n < sizeof sample_request; ++n) {
        message m;
        const auto e = parse(std::span(sample_request).first(n), m);
        EXPECT_NE(e, parse_error::none) << n;
        EXPECT_EQ(e, n < header_size ? parse_error::too_short : parse_error::bad_length) << n;
        EXPECT_TRUE(m.attributes.empty()) << "a failed parse leaves no half message";
    }
}

TEST(stun_codec, a_flipped_byte_under_the_fingerprint_is_caught) {
    // Nothing before FINGERPRINT can change and still pass as fingerprinted.
    for (std::size_t i = 0; i < sample_request_fingerprint_at; ++i) {
        for (const std::uint8_t flip : {0x01, 0x80, 0xFF}) {
            bytes altered(std::begin(sample_request), std::end(sample_request));
            altered[i] ^= flip;
            message m;
            const auto e = parse(altered, m);
            EXPECT_FALSE(e == parse_error::none && m.has_fingerprint) << i;
        }
    }
    // Where the structure stays intact (the transaction id and the values),
    // it is FINGERPRINT that catches it. So does a changed fingerprint.
    const std::pair<std::size_t, std::size_t> values[] = {{8, 20},  {24, 40}, {44, 48},  {52, 60},
                                                          {64, 76}, {80, 100}, {104, 108}};
    for (const auto& [from, to] : values) {
        for (std::size_t i = from; i < to; ++i) {
            bytes altered(std::begin(sample_request), std::end(sample_request));
            altered[i] ^= 0x01;
            EXPECT_EQ(parse_bytes(altered), parse_error::bad_fingerprint) << i;
        }
    }
}

TEST(stun_codec, a_length_field_that_lies_is_refused) {
    bytes lie(std::begin(sample_request), std::end(sample_request));
    lie[3] = 0x5C;  // 4 more than there is
    EXPECT_EQ(parse_bytes(lie), parse_error::bad_length);
    lie[3] = 0x54;  // 4 less
    EXPECT_EQ(parse_bytes(lie), parse_error::bad_length);
    lie[2] = 0xFF;
    lie[3] = 0xFC;
    EXPECT_EQ(parse_bytes(lie), parse_error::bad_length);
    lie[2] = 0x00;
    lie[3] = 0x59;  // not a multiple of 4
    EXPECT_EQ(parse_bytes(lie), parse_error::not_stun);

    bytes longer(std::begin(sample_request), std::end(sample_request));
    longer.insert(longer.end(), {0, 0, 0, 0});  // trailing bytes the length does not cover
    EXPECT_EQ(parse_bytes(longer), parse_error::bad_length);

    bytes cookie(std::begin(sample_request), std::end(sample_request));
    cookie[7] ^= 0x01;
    EXPECT_EQ(parse_bytes(cookie), parse_error::not_stun);
    EXPECT_FALSE(looks_like_stun(cookie));
}

TEST(stun_codec, an_attribute_running_past_the_end_is_refused) {
    // SOFTWARE claims 16 bytes, 4 follow.
    EXPECT_EQ(parse_bytes(compose(0x0001, {{attr::software, {'a', 'b', 'c', 'd'}, 16}})),
              parse_error::truncated_attribute);
    // Claims 5: one byte more than there is.
    EXPECT_EQ(parse_bytes(compose(0x0001, {{attr::software, {'a', 'b', 'c', 'd'}, 5}})),
              parse_error::truncated_attribute);
    // Claims the most a length can say.
    EXPECT_EQ(parse_bytes(compose(0x0001, {{attr::xor_mapped_address, {0, 1, 0, 0, 0, 0, 0, 0}, 0xFFFE}})),
              parse_error::truncated_attribute);
    // The last attribute of the §2.1 request made 4 bytes longer than the packet.
    bytes long_fp(std::begin(sample_request), std::end(sample_request));
    long_fp[sample_request_fingerprint_at + 3] = 0x08;
    EXPECT_EQ(parse_bytes(long_fp), parse_error::truncated_attribute);
    // An empty attribute is fine.
    EXPECT_EQ(parse_bytes(compose(0x0001, {{attr::software, {}}})), parse_error::none);
}

TEST(stun_codec, more_than_32_attributes_are_refused) {
    builder b(binding, msg_class::request, sample_txid);
    for (std::size_t i = 0; i < max_attributes; ++i) b.change_request(0);
    message m;
    ASSERT_EQ(parse(b.bytes(), m), parse_error::none);
    EXPECT_EQ(m.attributes.size(), max_attributes);
    b.change_request(0);
    EXPECT_EQ(parse(b.bytes(), m), parse_error::too_many_attributes);
    EXPECT_TRUE(m.attributes.empty());
}

TEST(stun_codec, an_attribute_after_fingerprint_is_refused) {
    builder b(binding, msg_class::request, sample_txid);
    b.fingerprint().change_request(0);
    EXPECT_EQ(parse_bytes(b.bytes()), parse_error::after_fingerprint);

    builder twice(binding, msg_class::request, sample_txid);
    twice.fingerprint().fingerprint();
    EXPECT_EQ(parse_bytes(twice.bytes()), parse_error::after_fingerprint);
}

TEST(stun_codec, a_malformed_fingerprint_is_refused) {
    EXPECT_EQ(parse_bytes(compose(0x0001, {{attr::fingerprint, {0, 0, 0, 0, 0, 0, 0, 0}}})),
              parse_error::bad_fingerprint);
    EXPECT_EQ(parse_bytes(compose(0x0001, {{attr::fingerprint, {0, 0}}})), parse_error::bad_fingerprint);
    EXPECT_EQ(parse_bytes(compose(0x0001, {{attr::fingerprint, {0, 0, 0, 0}}})), parse_error::bad_fingerprint);
}

TEST(stun_codec, quic_and_other_first_bytes_are_not_stun) {
    for (const std::uint8_t first : {0x40, 0xC0, 0x80}) {
        bytes packet(std::begin(sample_request), std::end(sample_request));
        packet[0] = first;
        EXPECT_FALSE(looks_like_stun(packet)) << int{first};
        EXPECT_EQ(parse_bytes(packet), parse_error::not_stun) << int{first};
    }
    EXPECT_FALSE(looks_like_stun(std::span(sample_request).first(19)));
    EXPECT_TRUE(looks_like_stun(std::span(sample_request).first(20)));
}

TEST(stun_codec, attributes_after_message_integrity_are_ignored) {
    // RFC 8489 §14.5: only FINGERPRINT (and MESSAGE-INTEGRITY-SHA256) count
    // after MESSAGE-INTEGRITY; the rest is ignored, not an error.
    builder b(binding, msg_class::success, sample_txid);
    b.integrity(short_term_password).xor_mapped_address(endpoint("192.0.2.1", 1)).fingerprint();
    message m;
    ASSERT_EQ(parse(b.bytes(), m), parse_error::none);
    EXPECT_TRUE(m.has_fingerprint);
    EXPECT_EQ(m.find(attr::xor_mapped_address), nullptr);
    EXPECT_EQ(mapped_address(m), std::nullopt);
    EXPECT_TRUE(check_integrity(m, short_term_password));
    ASSERT_EQ(m.attributes.size(), 2u);
    EXPECT_EQ(m.attributes[0].type, attr::message_integrity);
    EXPECT_EQ(m.attributes[1].type, attr::fingerprint);

    // MESSAGE-INTEGRITY-SHA256 (0x001C) may follow and is kept.
    const auto with_sha256 = compose(0x0001, {{attr::message_integrity, bytes(20, 0)},
                                              {0x001C, bytes(32, 0)},
                                              {attr::change_request, {0, 0, 0, 2}}});
    ASSERT_EQ(parse(with_sha256, m), parse_error::none);
    ASSERT_EQ(m.attributes.size(), 2u);
    EXPECT_EQ(m.attributes[1].type, 0x001C);
    EXPECT_EQ(change_request(m), 0u) << "ignored, so absent";
}

TEST(stun_codec, malformed_address_attributes_give_nullopt) {
    const auto decode = [](std::uint16_t type, const bytes& value) {
        const auto packet = compose(0x0101, {{type, value}});
        message m;
        EXPECT_EQ(parse(packet, m), parse_error::none);
        return address_attribute(m, type);
    };
    const bytes v4 = {0, 0x01, 0x12, 0x34, 192, 0, 2, 1};
    // Plain encodings: MAPPED-ADDRESS, RESPONSE-ORIGIN, OTHER-ADDRESS.
    EXPECT_EQ(decode(attr::mapped_address, v4), endpoint("192.0.2.1", 0x1234));
    EXPECT_EQ(decode(attr::response_origin, v4), endpoint("192.0.2.1", 0x1234));
    EXPECT_EQ(decode(attr::other_address, v4), endpoint("192.0.2.1", 0x1234));
    bytes v6 = {0, 0x02, 0x0D, 0x96, 0x20, 0x01, 0x0d, 0xb8};
    v6.resize(20, 0);
    v6[19] = 1;
    EXPECT_EQ(decode(attr::mapped_address, v6), endpoint("2001:db8::1", 3478));

    EXPECT_EQ(decode(attr::mapped_address, {0, 0x03, 0x12, 0x34, 192, 0, 2, 1}), std::nullopt) << "family 3";
    EXPECT_EQ(decode(attr::mapped_address, {0, 0x00, 0x12, 0x34, 192, 0, 2, 1}), std::nullopt) << "family 0";
    EXPECT_EQ(decode(attr::xor_mapped_address, {0, 0x02, 0x12, 0x34, 192, 0, 2, 1}), std::nullopt)
        << "IPv6 family, IPv4 length";
    bytes v4_long = v6;
    v4_long[1] = 0x01;
    EXPECT_EQ(decode(attr::xor_mapped_address, v4_long), std::nullopt) << "IPv4 family, IPv6 length";
    EXPECT_EQ(decode(attr::mapped_address, {0, 0x01, 0x12, 0x34, 192, 0, 2}), std::nullopt) << "7 bytes";
    EXPECT_EQ(decode(attr::mapped_address, {0, 0x01, 0x12, 0x34, 192, 0, 2, 1, 0}), std::nullopt) << "9 bytes";
    EXPECT_EQ(decode(attr::mapped_address, {0, 0x01, 0x12}), std::nullopt) << "3 bytes";
    EXPECT_EQ(decode(attr::mapped_address, {}), std::nullopt) << "empty";

    // A malformed XOR-MAPPED-ADDRESS is not papered over with MAPPED-ADDRESS.
    const auto both = compose(0x0101, {{attr::xor_mapped_address, {0, 0x07, 0, 0}}, {attr::mapped_address, v4}});
    message m;
    ASSERT_EQ(parse(both, m), parse_error::none);
    EXPECT_EQ(mapped_address(m), std::nullopt);
    // Without XOR-MAPPED-ADDRESS, the legacy one is used.
    const auto legacy = compose(0x0101, {{attr::mapped_address, v4}});
    ASSERT_EQ(parse(legacy, m), parse_error::none);
    EXPECT_EQ(mapped_address(m), endpoint("192.0.2.1", 0x1234));
    // The first of two is the one (RFC 8489 §14).
    const auto twice = compose(0x0101, {{attr::mapped_address, v4}, {attr::mapped_address, {0, 1, 0, 1, 10, 0, 0, 1}}});
    ASSERT_EQ(parse(twice, m), parse_error::none);
    EXPECT_EQ(mapped_address(m), endpoint("192.0.2.1", 0x1234));
}

TEST(stun_codec, a_malformed_change_request_gives_nullopt) {
    // A message views its packet, so the packet lives as long as it is read.
    const auto flags_of = [](const bytes& value) {
        const auto packet = compose(0x0001, {{attr::change_request, value}});
        message m;
        EXPECT_EQ(parse(packet, m), parse_error::none);
        return change_request(m);
    };
    EXPECT_EQ(flags_of({0, 0, 0, 4, 0, 0, 0, 0}), std::nullopt);
    EXPECT_EQ(flags_of({0, 0, 6}), std::nullopt);
    EXPECT_EQ(flags_of({}), std::nullopt);
    EXPECT_EQ(flags_of({0, 0, 0, 6}), change_ip | change_port);
}

TEST(stun_codec, integrity_is_false_when_absent_or_malformed) {
    const auto integrity_of = [](std::initializer_list<raw_attribute> attributes) {
        const auto packet = compose(0x0001, attributes);
        message m;
        EXPECT_EQ(parse(packet, m), parse_error::none);
        return check_integrity(m, short_term_password);
    };
    EXPECT_FALSE(integrity_of({{attr::message_integrity, bytes(16, 0)}})) << "16 bytes, not 20";
    EXPECT_FALSE(integrity_of({{attr::message_integrity, bytes(20, 0)}}));
    EXPECT_FALSE(integrity_of({}));
    // A hand-filled message whose attribute points past its bytes.
    message forged;
    forged.attributes.push_back({attr::message_integrity, std::span(sample_request).subspan(80, 20), 500});
    forged.bytes = sample_request;
    EXPECT_FALSE(check_integrity(forged, short_term_password));
}

// Random bytes behind a valid header, walked by attribute headers of types
// and lengths that parse cares about, and most often cut where the last
// attribute ends so that the walk reaches the end.
bytes plausible_packet(std::mt19937& rng) {
    static constexpr std::uint16_t types[] = {attr::mapped_address, attr::xor_mapped_address, attr::change_request,
                                              attr::message_integrity, 0x001C, attr::fingerprint, attr::software,
                                              attr::response_origin, attr::other_address, 0x7FFF};
    static constexpr std::size_t lengths[] = {0, 3, 4, 8, 20, 24};
    bytes packet(header_size + rng() % 181);
    for (auto& b : packet) b = static_cast<std::uint8_t>(rng());
    packet.resize(header_size + (packet.size() - header_size) / 4 * 4);
    std::size_t end = header_size;
    std::size_t fingerprint_at = 0;
    for (std::size_t at = header_size; at + 4 <= packet.size() && rng() % 8 != 0;) {
        const std::uint16_t type = types[rng() % std::size(types)];
        const std::size_t length = type == attr::fingerprint ? 4 : lengths[rng() % std::size(lengths)];
        packet[at] = static_cast<std::uint8_t>(type >> 8);
        packet[at + 1] = static_cast<std::uint8_t>(type);
        packet[at + 2] = 0;
        packet[at + 3] = static_cast<std::uint8_t>(length);
        if (at + 5 < packet.size() && rng() % 2 == 0) packet[at + 5] = static_cast<std::uint8_t>(1 + rng() % 2);
        if (type == attr::fingerprint) fingerprint_at = at;
        at += 4 + (length + 3) / 4 * 4;
        if (at <= packet.size()) end = at;
        if (type == attr::fingerprint && rng() % 2 == 0) break;
    }
    if (rng() % 4 != 0) packet.resize(end);
    packet[0] &= 0x3F;
    packet[2] = static_cast<std::uint8_t>((packet.size() - header_size) >> 8);
    packet[3] = static_cast<std::uint8_t>(packet.size() - header_size);
    packet[4] = 0x21;
    packet[5] = 0x12;
    packet[6] = 0xA4;
    packet[7] = 0x42;
    if (fingerprint_at != 0 && fingerprint_at + 8 <= packet.size()) {
        // A valid CRC, now that the header's length is final: a FINGERPRINT
        // that ends the packet passes.
        const auto f = crc32(std::span(packet).first(fingerprint_at)) ^ 0x5354554Eu;
        for (std::size_t k = 0; k < 4; ++k) packet[fingerprint_at + 4 + k] = static_cast<std::uint8_t>(f >> (24 - 8 * k));
    }
    return packet;
}

TEST(stun_codec, random_bytes_never_crash_the_parser) {
    // Meant to run under ASan/UBSan too (BURROW_SANITIZE): every read stays
    // inside the packet. Half the packets are plain random bytes, half are
    // plausible, so the walk goes deep.
    std::mt19937 rng(5769);
    std::size_t parsed = 0;
    std::size_t fingerprinted = 0;
    for (int i = 0; i < 20000; ++i) {
        bytes packet;
        if (i % 2 == 0) {
            packet = plausible_packet(rng);
        } else {
            packet.resize(rng() % 201);
            for (auto& b : packet) b = static_cast<std::uint8_t>(rng());
        }
        message m;
        const auto e = parse(packet, m);
        EXPECT_FALSE(to_string(e).empty());
        if (looks_like_stun(packet)) {
            EXPECT_GE(packet.size(), header_size);
        }
        if (e != parse_error::none) {
            EXPECT_TRUE(m.attributes.empty());
            continue;
        }
        ++parsed;
        fingerprinted += m.has_fingerprint ? 1 : 0;
        EXPECT_LE(m.attributes.size(), max_attributes);
        for (const auto& a : m.attributes) {
            EXPECT_GE(a.value.data(), packet.data() + header_size);
            EXPECT_LE(a.value.data() + a.value.size(), packet.data() + packet.size());
        }
        for (const auto type : {attr::mapped_address, attr::xor_mapped_address, attr::response_origin,
                                 attr::other_address, attr::software})
            (void)address_attribute(m, type);
        (void)mapped_address(m);
        (void)change_request(m);
        (void)check_integrity(m, short_term_password);
    }
    // The loop must reach the attribute walk and FINGERPRINT, not stop at the header.
    // (With this seed: 6938 parse, 1305 of them with a FINGERPRINT.)
    EXPECT_GT(parsed, 3000u);
    EXPECT_GT(fingerprinted, 500u);
}

TEST(stun_codec, every_parse_error_has_a_phrase) {
    EXPECT_EQ(to_string(parse_error::too_short), "shorter than a STUN header");
    for (const auto e : {parse_error::none, parse_error::too_short, parse_error::not_stun, parse_error::bad_length,
                         parse_error::truncated_attribute, parse_error::too_many_attributes,
                         parse_error::after_fingerprint, parse_error::bad_fingerprint}) {
        EXPECT_FALSE(to_string(e).empty());
        EXPECT_NE(to_string(e), "?");
    }
}

}  // namespace
}  // namespace burrow::stun
