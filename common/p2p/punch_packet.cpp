#include "common/p2p/punch_packet.hpp"

#include <cstring>
#include <string>

#include <openssl/crypto.h>
#include <openssl/hmac.h>

namespace burrow::punch {

namespace {

constexpr std::size_t signed_size = 26;
constexpr std::size_t mac_size = packet_size - signed_size;

void put64(std::uint8_t* p, std::uint64_t v) {
    for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
    for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<std::uint8_t>(v);
}
std::uint64_t get64(const std::uint8_t* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
    return v;
}
std::uint32_t get32(const std::uint8_t* p) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | p[i];
    return v;
}

std::array<std::uint8_t, 32> hmac(std::span<const std::uint8_t> k, std::span<const std::uint8_t> msg) {
    std::array<std::uint8_t, 32> out{};
    unsigned int len = 0;
    HMAC(EVP_sha256(), k.data(), static_cast<int>(k.size()), msg.data(), msg.size(), out.data(), &len);
    return out;
}

}  // namespace

key derive_key(std::string_view secret_key, std::uint64_t punch_id, std::string_view nonce) {
    std::string msg = "burrow punch v1";
    msg += '\0';
    msg += std::to_string(punch_id);
    msg += '\0';
    msg += nonce;
    return hmac({reinterpret_cast<const std::uint8_t*>(secret_key.data()), secret_key.size()},
                {reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size()});
}

packet encode(const fields& f, const key& k) {
    packet p{};
    p[0] = kind_byte;
    p[1] = static_cast<std::uint8_t>(f.kind);
    p[2] = static_cast<std::uint8_t>(f.sender);
    put64(&p[4], f.punch_id);
    put32(&p[12], f.seq);
    put64(&p[16], f.sent_us);
    const auto mac = hmac(k, {p.data(), signed_size});
    std::memcpy(&p[signed_size], mac.data(), mac_size);
    return p;
}

bool looks_like_punch(std::span<const std::uint8_t> bytes) {
    return !bytes.empty() && bytes[0] == kind_byte;
}

std::string_view to_string(refusal r) {
    switch (r) {
        case refusal::none: return "ok";
        case refusal::malformed: return "malformed";
        case refusal::forged: return "bad authentication";
        case refusal::wrong_punch: return "another attempt's";
        case refusal::own_role: return "our own, reflected";
        case refusal::replayed: return "replayed";
    }
    return "?";
}

refusal receiver::check(std::span<const std::uint8_t> bytes, fields& out) {
    if (bytes.size() != packet_size || bytes[0] != kind_byte || bytes[3] != 0 || bytes[24] != 0 ||
        bytes[25] != 0)
        return refusal::malformed;
    const auto kind = bytes[1];
    const auto sender = bytes[2];
    if ((kind != 1 && kind != 2) || (sender != 1 && sender != 2)) return refusal::malformed;
    const auto mac = hmac(key_, bytes.first(signed_size));
    if (CRYPTO_memcmp(mac.data(), &bytes[signed_size], mac_size) != 0) return refusal::forged;
    out.kind = static_cast<type>(kind);
    out.sender = static_cast<role>(sender);
    out.punch_id = get64(&bytes[4]);
    out.seq = get32(&bytes[12]);
    out.sent_us = get64(&bytes[16]);
    if (out.punch_id != punch_id_) return refusal::wrong_punch;
    if (out.sender == self_) return refusal::own_role;
    if (out.kind == type::probe && seen_before(out.seq)) return refusal::replayed;
    return refusal::none;
}

bool receiver::seen_before(std::uint32_t seq) {
    if (!any_) {
        any_ = true;
        highest_ = seq;
        window_ = 1;
        return false;
    }
    if (seq > highest_) {
        const auto shift = seq - highest_;
        window_ = shift >= 64 ? 0 : window_ << shift;
        window_ |= 1;
        highest_ = seq;
        return false;
    }
    const auto back = highest_ - seq;
    if (back >= 64) return true;  // too old to tell: refused
    const auto bit = std::uint64_t{1} << back;
    if (window_ & bit) return true;
    window_ |= bit;
    return false;
}

}  // namespace burrow::punch
