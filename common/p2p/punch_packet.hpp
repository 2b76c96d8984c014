// Punch packets: what a visitor and a home client send each other to open a
// direct UDP path through both NATs (DESIGN.md §6), and later to keep it open.
//
// 42 bytes, authenticated with a key only the two peers hold: derived from
// the secret proxy's secret_key (which the server never sees) and the punch
// attempt, so neither the server nor anyone on the path can forge one, and a
// probe replayed or reflected back to its sender is refused.
//
//   0      kind_byte (0x0E: neither STUN, whose first byte is 0x00/0x01 with a
//          cookie at 4..7, nor QUIC, whose first byte is >= 0x40)
//   1      type: probe, answer
//   2      sender's role: visitor, home
//   3      0
//   4..11  punch id (big-endian)
//   12..15 sequence number of the probe (an answer repeats its probe's)
//   16..23 the probe's send time in µs on its sender's clock (echoed: RTT)
//   24..25 0
//   26..41 HMAC-SHA256(key, bytes 0..25), first 16 bytes
//
// Pure code: no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace burrow::punch {

constexpr std::uint8_t kind_byte = 0x0E;
constexpr std::size_t packet_size = 42;

enum class type : std::uint8_t { probe = 1, answer = 2 };
enum class role : std::uint8_t { visitor = 1, home = 2 };

using key = std::array<std::uint8_t, 32>;
using packet = std::array<std::uint8_t, packet_size>;

// The probes' key for one attempt:
// HMAC-SHA256(secret_key, "burrow punch v1" 0x00 decimal(punch_id) 0x00 nonce).
key derive_key(std::string_view secret_key, std::uint64_t punch_id, std::string_view nonce);

struct fields {
    type kind = type::probe;
    role sender = role::visitor;
    std::uint64_t punch_id = 0;
    std::uint32_t seq = 0;
    std::uint64_t sent_us = 0;
};

packet encode(const fields& f, const key& k);

// True when `bytes` starts like a punch packet (to sort datagrams on a shared socket).
bool looks_like_punch(std::span<const std::uint8_t> bytes);

enum class refusal : std::uint8_t { none, malformed, forged, wrong_punch, own_role, replayed };
std::string_view to_string(refusal r);

// Checks what arrives for one attempt: size and layout, the MAC, the punch
// id, that it comes from the other role, and that a probe's sequence number
// was not seen before (a window of the last 64 beyond the highest). Answers
// are not replay-checked here (an answer only reports an RTT; its sequence
// is matched against probes sent by the caller).
class receiver {
public:
    receiver(const key& k, std::uint64_t punch_id, role self) : key_(k), punch_id_(punch_id), self_(self) {}

    refusal check(std::span<const std::uint8_t> bytes, fields& out);

private:
    bool seen_before(std::uint32_t seq);  // and remembers it

    key key_;
    std::uint64_t punch_id_;
    role self_;
    std::uint32_t highest_ = 0;
    std::uint64_t window_ = 0;  // bit i: highest_ - i was seen
    bool any_ = false;
};

}  // namespace burrow::punch
