#include "common/stun/codec.hpp"

#include <algorithm>
#include <cstring>
#include <memory>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

namespace burrow::stun {

namespace {

// RFC 8489 §14.6. Not in attr:: because we never read or write it; parse only
// needs to know it may follow MESSAGE-INTEGRITY.
constexpr std::uint16_t message_integrity_sha256 = 0x001C;
constexpr std::uint32_t fingerprint_xor = 0x5354554E;  // "STUN", RFC 8489 §14.7
constexpr std::size_t attribute_header_size = 4;
constexpr std::size_t hmac_sha1_size = 20;
constexpr std::size_t fingerprint_size = 4;
// RFC 8489 §14.14: SOFTWARE has fewer than 128 characters; we count bytes.
constexpr std::size_t max_software_size = 128;

using hmac_sha1_value = std::array<std::uint8_t, hmac_sha1_size>;

std::uint16_t get16(const std::uint8_t* p) {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
std::uint32_t get32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
void put16(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
    for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<std::uint8_t>(v);
}

// Attribute values are padded to a multiple of 4 bytes (RFC 8489 §14).
constexpr std::size_t padded(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

// The 14-bit message type interleaves the 12 method bits M11..M0 with the two
// class bits: M11-M7, C1, M6-M4, C0, M3-M0 (RFC 8489 §5). msg_class's values
// are C1C0 as a number.
std::uint16_t encode_type(std::uint16_t method, msg_class cls) {
    const unsigned c = static_cast<unsigned>(cls);
    return static_cast<std::uint16_t>((method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2) |
                                      ((c & 0x1) << 4) | ((c & 0x2) << 7));
}
std::uint16_t decode_method(std::uint16_t type) {
    return static_cast<std::uint16_t>((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
}
msg_class decode_class(std::uint16_t type) {
    return static_cast<msg_class>(((type >> 4) & 0x1) | ((type >> 7) & 0x2));
}

constexpr std::array<std::uint32_t, 256> make_crc_table() {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int bit = 0; bit < 8; ++bit) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    return table;
}
constexpr auto crc_table = make_crc_table();

// The HMAC algorithm is fetched once: a fetch searches OpenSSL's provider store
// under a lock. It is never freed, so it outlives every caller (static init is
// thread-safe).
EVP_MAC* hmac_algorithm() {
    static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    return mac;
}

struct mac_ctx_free {
    void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

// HMAC-SHA1 of `head` followed by `rest`, fed in place: the message is never
// copied (the only allocation is OpenSSL's own MAC context). False when
// OpenSSL fails, which only happens when it is out of memory or broken.
bool hmac_sha1(std::span<const std::uint8_t> key, std::span<const std::uint8_t> head,
               std::span<const std::uint8_t> rest, hmac_sha1_value& out) {
    EVP_MAC* mac = hmac_algorithm();
    if (mac == nullptr) return false;
    const std::unique_ptr<EVP_MAC_CTX, mac_ctx_free> ctx(EVP_MAC_CTX_new(mac));
    if (!ctx) return false;
    char digest[] = "SHA1";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    // An empty key is a valid HMAC key, but to EVP_MAC_init a null key means
    // "keep the previous one", and there is none.
    static constexpr std::uint8_t no_key = 0;
    const std::uint8_t* k = key.empty() ? &no_key : key.data();
    std::size_t written = 0;
    return EVP_MAC_init(ctx.get(), k, key.size(), params) == 1 &&
           EVP_MAC_update(ctx.get(), head.data(), head.size()) == 1 &&
           (rest.empty() || EVP_MAC_update(ctx.get(), rest.data(), rest.size()) == 1) &&
           EVP_MAC_final(ctx.get(), out.data(), &written, out.size()) == 1 && written == out.size();
}

std::uint32_t fingerprint_of(std::span<const std::uint8_t> before) { return crc32(before) ^ fingerprint_xor; }

parse_error parse_into(std::span<const std::uint8_t> packet, message& out) {
    if (packet.size() < header_size) return parse_error::too_short;
    const std::uint8_t* p = packet.data();
    const std::size_t length = get16(p + 2);
    if ((p[0] & 0xC0) != 0 || get32(p + 4) != magic_cookie || length % 4 != 0) return parse_error::not_stun;
    if (length != packet.size() - header_size) return parse_error::bad_length;

    const std::uint16_t type = get16(p);
    out.method = decode_method(type);
    out.cls = decode_class(type);
    std::copy_n(p + 8, out.txid.size(), out.txid.begin());
    out.bytes = packet;

    bool after_integrity = false;
    std::size_t carried = 0;  // every attribute, kept or ignored: bounds the work
    for (std::size_t at = header_size; at < packet.size();) {
        // The header's length is a multiple of 4 and so is `at`, so `room`
        // is too; both checks stay for the reader who cannot see that.
        if (packet.size() - at < attribute_header_size) return parse_error::truncated_attribute;
        const std::size_t room = packet.size() - at - attribute_header_size;
        const std::size_t value_length = get16(p + at + 2);
        if (value_length > room || padded(value_length) > room) return parse_error::truncated_attribute;
        if (++carried > max_attributes) return parse_error::too_many_attributes;
        const attribute a{get16(p + at), packet.subspan(at + attribute_header_size, value_length), at};
        at += attribute_header_size + padded(value_length);

        if (a.type == attr::fingerprint) {
            // FINGERPRINT is last (RFC 8489 §14.7). Checked before the CRC so
            // that a misplaced one is reported as such, not as a bad CRC.
            if (at != packet.size()) return parse_error::after_fingerprint;
            if (a.value.size() != fingerprint_size || get32(a.value.data()) != fingerprint_of(packet.first(a.offset)))
                return parse_error::bad_fingerprint;
            out.has_fingerprint = true;
        } else if (a.type == attr::message_integrity || a.type == message_integrity_sha256) {
            // A second MESSAGE-INTEGRITY after the first is ignored like any
            // other attribute there; find() would not return it anyway.
            if (after_integrity && a.type == attr::message_integrity) continue;
            after_integrity = true;
        } else if (after_integrity) {
            continue;  // RFC 8489 §14.5: agents ignore what follows MESSAGE-INTEGRITY
        }
        out.attributes.push_back(a);
    }
    return parse_error::none;
}

}  // namespace

const attribute* message::find(std::uint16_t type) const {
    for (const attribute& a : attributes)
        if (a.type == type) return &a;
    return nullptr;
}

std::string_view to_string(parse_error e) {
    switch (e) {
        case parse_error::none: return "ok";
        case parse_error::too_short: return "shorter than a STUN header";
        case parse_error::not_stun: return "not a STUN message";
        case parse_error::bad_length: return "length field does not match the packet";
        case parse_error::truncated_attribute: return "an attribute runs past the end";
        case parse_error::too_many_attributes: return "too many attributes";
        case parse_error::after_fingerprint: return "an attribute follows FINGERPRINT";
        case parse_error::bad_fingerprint: return "bad FINGERPRINT";
    }
    return "?";
}

bool looks_like_stun(std::span<const std::uint8_t> packet) {
    return packet.size() >= header_size && (packet[0] & 0xC0) == 0 && get32(packet.data() + 4) == magic_cookie;
}

parse_error parse(std::span<const std::uint8_t> packet, message& out) {
    out.attributes.clear();
    out.has_fingerprint = false;
    const parse_error e = parse_into(packet, out);
    if (e != parse_error::none) {
        // A caller never sees half a message.
        out = message{};
    }
    return e;
}

std::optional<udp_endpoint> address_attribute(const message& m, std::uint16_t type) {
    const attribute* a = m.find(type);
    if (a == nullptr || a->value.size() < 4) return std::nullopt;
    const std::uint8_t* v = a->value.data();
    // XOR-MAPPED-ADDRESS hides the address from NATs that rewrite what looks
    // like their own address in payloads (RFC 8489 §14.2).
    const bool xored = type == attr::xor_mapped_address;
    std::uint16_t port = get16(v + 2);
    if (xored) port ^= static_cast<std::uint16_t>(magic_cookie >> 16);
    // v[0] is reserved and ignored by receivers (RFC 8489 §14.1).
    if (v[1] == 0x01 && a->value.size() == 8) {
        std::uint32_t ip = get32(v + 4);
        if (xored) ip ^= magic_cookie;
        return udp_endpoint(boost::asio::ip::address_v4(ip), port);
    }
    if (v[1] == 0x02 && a->value.size() == 20) {
        boost::asio::ip::address_v6::bytes_type ip{};
        std::copy_n(v + 4, ip.size(), ip.begin());
        if (xored) {
            std::array<std::uint8_t, 16> mask{};
            put32(mask.data(), magic_cookie);
            std::copy(m.txid.begin(), m.txid.end(), mask.begin() + 4);
            for (std::size_t i = 0; i < ip.size(); ++i) ip[i] ^= mask[i];
        }
        return udp_endpoint(boost::asio::ip::address_v6(ip), port);
    }
    return std::nullopt;
}

std::optional<udp_endpoint> mapped_address(const message& m) {
    if (m.find(attr::xor_mapped_address) != nullptr) return address_attribute(m, attr::xor_mapped_address);
    return address_attribute(m, attr::mapped_address);
}

std::optional<std::uint32_t> change_request(const message& m) {
    const attribute* a = m.find(attr::change_request);
    if (a == nullptr) return 0;
    if (a->value.size() != 4) return std::nullopt;
    return get32(a->value.data());
}

bool check_integrity(const message& m, std::span<const std::uint8_t> key) {
    const attribute* a = m.find(attr::message_integrity);
    if (a == nullptr || a->value.size() != hmac_sha1_size) return false;
    // parse() guarantees this; checked again because a message is a plain
    // struct that anyone can fill.
    const std::size_t end = a->offset + attribute_header_size + hmac_sha1_size;
    if (a->offset < header_size || m.bytes.size() < end) return false;
    // RFC 8489 §14.5: the HMAC covers the message up to MESSAGE-INTEGRITY with
    // the header's length as if the message ended just after it. The header is
    // patched in a copy; the rest is fed from the packet in place.
    std::array<std::uint8_t, header_size> head{};
    std::copy_n(m.bytes.data(), header_size, head.begin());
    put16(&head[2], static_cast<std::uint16_t>(end - header_size));
    hmac_sha1_value expected{};
    if (!hmac_sha1(key, head, m.bytes.subspan(header_size, a->offset - header_size), expected)) return false;
    return CRYPTO_memcmp(expected.data(), a->value.data(), expected.size()) == 0;
}

std::array<std::uint8_t, 16> long_term_key(std::string_view username, std::string_view realm,
                                           std::string_view password) {
    std::array<std::uint8_t, 16> key{};
    // Fed in pieces, so the joined string is never built. Zeros on an OpenSSL
    // failure (out of memory): a key no peer has, so integrity just fails.
    const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    unsigned int written = 0;
    const bool ok = ctx && EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr) == 1 &&
                    EVP_DigestUpdate(ctx.get(), username.data(), username.size()) == 1 &&
                    EVP_DigestUpdate(ctx.get(), ":", 1) == 1 &&
                    EVP_DigestUpdate(ctx.get(), realm.data(), realm.size()) == 1 &&
                    EVP_DigestUpdate(ctx.get(), ":", 1) == 1 &&
                    EVP_DigestUpdate(ctx.get(), password.data(), password.size()) == 1 &&
                    EVP_DigestFinal_ex(ctx.get(), key.data(), &written) == 1 && written == key.size();
    if (!ok) key.fill(0);
    return key;
}

builder::builder(std::uint16_t method, msg_class cls, const transaction_id& txid) {
    put16(&buf_[0], encode_type(method, cls));
    put16(&buf_[2], 0);
    put32(&buf_[4], magic_cookie);
    std::copy(txid.begin(), txid.end(), buf_.begin() + 8);
}

// Appends an attribute header and a zeroed, padded value of `length` bytes and
// returns where the value goes, or nullptr when it would not fit in buf_: the
// attribute is then left out (the caller skips it). Every message we build is
// far below max_message_size, so this only guards against a future caller.
std::uint8_t* builder::append(std::uint16_t type, std::size_t length) {
    const std::size_t total = attribute_header_size + padded(length);
    if (length > 0xFFFF || total > buf_.size() - size_) return nullptr;
    std::uint8_t* p = buf_.data() + size_;
    put16(p, type);
    put16(p + 2, static_cast<std::uint16_t>(length));
    // Zeroed, padding included: a rolled-back integrity() may have left bytes here.
    std::fill_n(p + attribute_header_size, padded(length), std::uint8_t{0});
    size_ += total;
    put16(&buf_[2], static_cast<std::uint16_t>(size_ - header_size));
    return p + attribute_header_size;
}

builder& builder::xor_mapped_address(const udp_endpoint& ep) {
    const auto address = ep.address();
    const std::uint16_t port = static_cast<std::uint16_t>(ep.port() ^ (magic_cookie >> 16));
    if (address.is_v4()) {
        std::uint8_t* v = append(attr::xor_mapped_address, 8);
        if (v == nullptr) return *this;
        v[1] = 0x01;
        put16(v + 2, port);
        put32(v + 4, address.to_v4().to_uint() ^ magic_cookie);
    } else {
        std::uint8_t* v = append(attr::xor_mapped_address, 20);
        if (v == nullptr) return *this;
        v[1] = 0x02;
        put16(v + 2, port);
        const auto ip = address.to_v6().to_bytes();
        // The mask is the cookie and the transaction id, bytes 4..19 of the header.
        for (std::size_t i = 0; i < ip.size(); ++i) v[4 + i] = ip[i] ^ buf_[4 + i];
    }
    return *this;
}

builder& builder::change_request(std::uint32_t flags) {
    if (std::uint8_t* v = append(attr::change_request, 4)) put32(v, flags);
    return *this;
}

builder& builder::software(std::string_view name) {
    std::size_t n = std::min(name.size(), max_software_size);
    // Cut at a UTF-8 character boundary: back off while the first byte left
    // out continues the character before it.
    if (n < name.size())
        while (n > 0 && (static_cast<std::uint8_t>(name[n]) & 0xC0) == 0x80) --n;
    if (std::uint8_t* v = append(attr::software, n)) std::copy_n(name.data(), n, v);
    return *this;
}

builder& builder::integrity(std::span<const std::uint8_t> key) {
    const std::size_t at = size_;
    std::uint8_t* v = append(attr::message_integrity, hmac_sha1_size);
    if (v == nullptr) return *this;
    // The header's length now ends just after MESSAGE-INTEGRITY, as RFC 8489
    // §14.5 wants, so the HMAC covers buf_ up to the attribute as it stands.
    hmac_sha1_value mac{};
    const std::span<const std::uint8_t> written(buf_.data(), at);
    if (!hmac_sha1(key, written.first(header_size), written.subspan(header_size), mac)) {
        // No MESSAGE-INTEGRITY rather than a wrong one: either way the peer
        // refuses the message, but this one does not claim what it is not.
        size_ = at;
        put16(&buf_[2], static_cast<std::uint16_t>(size_ - header_size));
        return *this;
    }
    std::copy(mac.begin(), mac.end(), v);
    return *this;
}

builder& builder::fingerprint() {
    const std::size_t at = size_;
    std::uint8_t* v = append(attr::fingerprint, fingerprint_size);
    // The CRC covers the header with the length that includes FINGERPRINT.
    if (v != nullptr) put32(v, fingerprint_of({buf_.data(), at}));
    return *this;
}

std::uint32_t crc32(std::span<const std::uint8_t> data) {
    std::uint32_t c = 0xFFFFFFFF;
    for (const std::uint8_t b : data) c = crc_table[(c ^ b) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFF;
}

std::optional<udp_endpoint> binding_answer(std::span<const std::uint8_t> packet,
                                           const transaction_id& txid) {
    message m;
    if (parse(packet, m) != parse_error::none || m.cls != msg_class::success ||
        m.method != binding || m.txid != txid)
        return std::nullopt;
    return mapped_address(m);
}

}  // namespace burrow::stun
