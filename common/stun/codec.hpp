// STUN messages (RFC 8489, formerly RFC 5389): what the rendezvous service
// answers and what a client sends to learn its mapped address, plus the
// CHANGE-REQUEST attribute of RFC 5780 for the filtering test.
//
// Pure code: it parses bytes it is given and writes into a buffer it is
// given; no I/O, no allocation. Every length comes from the network and is
// checked before it is used.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include <boost/asio/ip/udp.hpp>
#include <boost/container/static_vector.hpp>

namespace burrow::stun {

using udp_endpoint = boost::asio::ip::udp::endpoint;
using transaction_id = std::array<std::uint8_t, 12>;

constexpr std::uint32_t magic_cookie = 0x2112A442;
constexpr std::size_t header_size = 20;
// The most attributes a message we parse may carry; more is hostile.
constexpr std::size_t max_attributes = 32;
// The largest message we build (an answer with an address, integrity and
// fingerprint is far below it).
constexpr std::size_t max_message_size = 548;

constexpr std::uint16_t binding = 0x001;  // the only method we speak

enum class msg_class : std::uint8_t { request, indication, success, error };

namespace attr {
constexpr std::uint16_t mapped_address = 0x0001;
constexpr std::uint16_t change_request = 0x0003;  // RFC 5780
constexpr std::uint16_t username = 0x0006;
constexpr std::uint16_t message_integrity = 0x0008;
constexpr std::uint16_t error_code = 0x0009;
constexpr std::uint16_t realm = 0x0014;
constexpr std::uint16_t nonce = 0x0015;
constexpr std::uint16_t xor_mapped_address = 0x0020;
constexpr std::uint16_t software = 0x8022;
constexpr std::uint16_t fingerprint = 0x8028;
constexpr std::uint16_t response_origin = 0x802B;  // RFC 5780
constexpr std::uint16_t other_address = 0x802C;    // RFC 5780
}  // namespace attr

// CHANGE-REQUEST flags (RFC 5780 §7.2).
constexpr std::uint32_t change_ip = 0x4;
constexpr std::uint32_t change_port = 0x2;

struct attribute {
    std::uint16_t type = 0;
    std::span<const std::uint8_t> value;  // without padding; views the parsed packet
    std::size_t offset = 0;               // of its 4-byte header within the message
};

// A parsed message: views into the packet it was parsed from, valid as long
// as that packet is.
struct message {
    std::uint16_t method = 0;
    msg_class cls = msg_class::request;
    transaction_id txid{};
    std::span<const std::uint8_t> bytes;  // the whole message (header included)
    boost::container::static_vector<attribute, max_attributes> attributes;
    bool has_fingerprint = false;  // and it was correct (parse checks it)

    // The first attribute of `type` (RFC 8489 §14: later duplicates are ignored).
    const attribute* find(std::uint16_t type) const;
};

enum class parse_error : std::uint8_t {
    none,
    too_short,            // shorter than a header
    not_stun,             // first two bits, magic cookie, or a length not a multiple of 4
    bad_length,           // the header's length does not match the packet
    truncated_attribute,  // an attribute runs past the end
    too_many_attributes,
    after_fingerprint,    // an attribute follows FINGERPRINT
    bad_fingerprint,      // FINGERPRINT is malformed or does not match
};
std::string_view to_string(parse_error e);

// Cheap test on the first bytes, to tell STUN from QUIC and punch packets on
// one socket: first two bits 0 and the magic cookie in place.
bool looks_like_stun(std::span<const std::uint8_t> packet);

// Parses one whole UDP payload. On success `out` views `packet`.
parse_error parse(std::span<const std::uint8_t> packet, message& out);

// XOR-MAPPED-ADDRESS (or, if absent, the legacy MAPPED-ADDRESS) of a parsed
// message; nullopt when missing or malformed.
std::optional<udp_endpoint> mapped_address(const message& m);
// An address attribute of `type` in either encoding: XOR'd for
// XOR-MAPPED-ADDRESS, plain for MAPPED-ADDRESS, RESPONSE-ORIGIN, OTHER-ADDRESS.
std::optional<udp_endpoint> address_attribute(const message& m, std::uint16_t type);
// The mapped address in `packet` when it is the success answer to our
// Binding request `txid`; nullopt for anything else.
std::optional<udp_endpoint> binding_answer(std::span<const std::uint8_t> packet,
                                           const transaction_id& txid);
// CHANGE-REQUEST flags; 0 when absent; nullopt when malformed.
std::optional<std::uint32_t> change_request(const message& m);

// MESSAGE-INTEGRITY (HMAC-SHA1, RFC 8489 §14.5) checked with `key` (the
// short-term password, or long_term_key()). False when absent or wrong.
bool check_integrity(const message& m, std::span<const std::uint8_t> key);
// MD5(username ":" realm ":" password), the long-term credential key.
std::array<std::uint8_t, 16> long_term_key(std::string_view username, std::string_view realm,
                                           std::string_view password);

// Builds one message into a caller's buffer. Attributes are appended in call
// order; integrity and fingerprint, when wanted, come last and in that order.
class builder {
public:
    builder(std::uint16_t method, msg_class cls, const transaction_id& txid);

    builder& xor_mapped_address(const udp_endpoint& ep);
    builder& change_request(std::uint32_t flags);
    builder& software(std::string_view name);  // cut to 128 bytes
    builder& integrity(std::span<const std::uint8_t> key);
    builder& fingerprint();

    std::span<const std::uint8_t> bytes() const { return {buf_.data(), size_}; }

private:
    std::uint8_t* append(std::uint16_t type, std::size_t length);

    std::array<std::uint8_t, max_message_size> buf_{};
    std::size_t size_ = header_size;
};

// The CRC-32 of FINGERPRINT (ISO-HDLC, as zlib), before the XOR with 0x5354554E.
std::uint32_t crc32(std::span<const std::uint8_t> data);

}  // namespace burrow::stun
