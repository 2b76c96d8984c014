// What the STUN codec tests share: the RFC 5769 vectors, and messages made
// from raw attributes (to build what the codec itself would refuse to build).
#pragma once

#include <initializer_list>
#include <span>
#include <string_view>
#include <vector>

#include "common/stun/codec.hpp"
#include "tests/unit/stun_vectors.hpp"

namespace burrow::stun::vectors_and_helpers {

namespace ip = boost::asio::ip;
using bytes = std::vector<std::uint8_t>;
using namespace rfc5769;

inline std::span<const std::uint8_t> as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_text(std::span<const std::uint8_t> b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

inline const auto short_term_password = as_bytes("VOkJxbRl1RmTxUk/WvJxBt");

inline udp_endpoint endpoint(std::string_view address, std::uint16_t port) {
    return {ip::make_address(address), port};
}

// A message from raw attributes, each written as given (no check of its
// length against its value), padded with zeros; the header's length matches.
struct raw_attribute {
    std::uint16_t type;
    bytes value;
    std::uint16_t claimed_length = 0xFFFF;  // 0xFFFF: the value's real length
};
inline bytes compose(std::uint16_t type, std::initializer_list<raw_attribute> attributes) {
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

inline parse_error parse_bytes(std::span<const std::uint8_t> packet) {
    message m;
    return parse(packet, m);
}

}  // namespace burrow::stun::vectors_and_helpers
