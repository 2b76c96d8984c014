// STUN (common/stun/codec.hpp): what anyone may send to the rendezvous ports,
// and what a client reads back as its mapped address.
//
// Input: one byte chooses the mode, the rest is
// - raw:     a datagram, parsed and read as the rendezvous and the client read it;
// - fixed:   a datagram whose header, MESSAGE-INTEGRITY (short-term key
//            "fuzz-password") and FINGERPRINT are made right first, so that
//            the fuzzer gets past them to what follows;
// - built:   fields for builder (class, transaction id, address, CHANGE-
//            REQUEST, SOFTWARE, integrity key, fingerprint), built and parsed back.
//
// Properties:
// - a parsed message views the packet, with at most max_attributes
//   attributes inside it, in order, none after FINGERPRINT; a failed parse
//   leaves nothing behind;
// - integrity computed here (RFC 8489 §14.5, with OpenSSL's HMAC) is accepted
//   by check_integrity(), a wrong key is not; a correct FINGERPRINT is accepted;
// - binding_answer() is mapped_address() of a Binding success with that txid;
// - what builder writes parses back to the same fields, within
//   max_message_size; SOFTWARE is cut at a UTF-8 character boundary;
// - the rendezvous' answer to a request is never larger than the request
//   plus the address it reports (no amplification).
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/stun/codec.hpp"
#include "fuzz_check.hpp"

namespace burrow::stun {
namespace {

using bytes = std::span<const std::uint8_t>;
constexpr std::string_view password = "fuzz-password";

bytes key_bytes(std::string_view k) { return fuzz::as_bytes(k); }

std::uint16_t get16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
void put16(std::uint8_t* p, std::size_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
    for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<std::uint8_t>(v);
}

// Makes the header, the first MESSAGE-INTEGRITY and a final FINGERPRINT of
// `p` right. Returns the offset of the integrity attribute it signed, if any.
std::optional<std::size_t> fix_up(std::vector<std::uint8_t>& p) {
    if (p.size() < header_size) return std::nullopt;
    p.resize(header_size + (p.size() - header_size) / 4 * 4);
    p[0] &= 0x3F;
    put32(&p[4], magic_cookie);
    put16(&p[2], p.size() - header_size);
    std::optional<std::size_t> signed_at;
    bool integrity_seen = false;
    for (std::size_t at = header_size; at + 4 <= p.size();) {
        const std::uint16_t type = get16(&p[at]);
        const std::size_t length = get16(&p[at + 2]);
        const std::size_t next = at + 4 + (length + 3) / 4 * 4;
        if (next > p.size()) break;
        if (type == attr::message_integrity && length == 20 && !integrity_seen) {
            // HMAC-SHA1 over the message up to the attribute, the header's
            // length as if the message ended just after it.
            std::vector<std::uint8_t> covered(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(at));
            put16(&covered[2], at + 4 + 20 - header_size);
            unsigned int n = 0;
            HMAC(EVP_sha1(), password.data(), static_cast<int>(password.size()), covered.data(),
                 covered.size(), &p[at + 4], &n);
            FUZZ_CHECK(n == 20);
            signed_at = at;
        }
        if (type == attr::message_integrity || type == 0x001C) integrity_seen = true;
        if (type == attr::fingerprint && length == 4 && next == p.size())
            put32(&p[at + 4], crc32({p.data(), at}) ^ 0x5354554E);
        at = next;
    }
    return signed_at;
}

void check_message(bytes packet, const message& m) {
    FUZZ_CHECK(m.bytes.data() == packet.data() && m.bytes.size() == packet.size());
    FUZZ_CHECK(looks_like_stun(packet));
    FUZZ_CHECK(packet.size() % 4 == 0);
    FUZZ_CHECK(m.attributes.size() <= max_attributes);
    std::size_t last = 0;
    for (const auto& a : m.attributes) {
        FUZZ_CHECK(a.offset >= header_size && a.offset > last);
        FUZZ_CHECK(a.value.data() == packet.data() + a.offset + 4);
        FUZZ_CHECK(a.offset + 4 + a.value.size() <= packet.size());
        last = a.offset;
        if (a.type == attr::fingerprint) FUZZ_CHECK(&a == &m.attributes.back());
    }
    FUZZ_CHECK(m.has_fingerprint == (m.find(attr::fingerprint) != nullptr));

    const auto mapped = mapped_address(m);
    for (const std::uint16_t type : {attr::xor_mapped_address, attr::mapped_address,
                                     attr::response_origin, attr::other_address}) {
        const auto ep = address_attribute(m, type);
        if (ep) FUZZ_CHECK(m.find(type) != nullptr);
    }
    if (mapped) FUZZ_CHECK(m.find(attr::xor_mapped_address) || m.find(attr::mapped_address));
    const auto change = change_request(m);
    if (m.find(attr::change_request) == nullptr) FUZZ_CHECK(change == 0u);
    const auto answer = binding_answer(packet, m.txid);
    if (m.cls == msg_class::success && m.method == binding)
        FUZZ_CHECK(answer == mapped);
    else
        FUZZ_CHECK(!answer);
    transaction_id other = m.txid;
    other[0] ^= 1;
    FUZZ_CHECK(!binding_answer(packet, other));

    // The rendezvous' answer (rendezvous.cpp) to a Binding request it takes:
    // the largest address it may report, a fingerprint where the request had one.
    if (m.method == binding && m.cls == msg_class::request && change &&
        (*change & change_ip) == 0) {
        builder reply(binding, msg_class::success, m.txid);
        reply.xor_mapped_address(udp_endpoint(boost::asio::ip::make_address("2001:db8::1"), 4242));
        if (m.has_fingerprint) reply.fingerprint();
        FUZZ_CHECK(reply.bytes().size() <= packet.size() + 4 + 20);
    }
}

void parse_raw(std::vector<std::uint8_t> packet, bool fixed) {
    std::optional<std::size_t> signed_at;
    if (fixed) signed_at = fix_up(packet);
    message m;
    m.method = 0xFFF;  // a failed parse must not leave this behind
    const auto e = parse(packet, m);
    FUZZ_CHECK(!to_string(e).empty());
    if (e != parse_error::none) {
        FUZZ_CHECK(m.attributes.empty() && m.bytes.empty() && m.method == 0 && !m.has_fingerprint);
        return;
    }
    check_message(packet, m);
    const auto* mi = m.find(attr::message_integrity);
    if (signed_at && mi != nullptr && mi->offset == *signed_at) {
        FUZZ_CHECK(check_integrity(m, key_bytes(password)));
        FUZZ_CHECK(!check_integrity(m, key_bytes("fuzz-passwore")));
    } else if (mi == nullptr) {
        FUZZ_CHECK(!check_integrity(m, key_bytes(password)));
    } else {
        check_integrity(m, key_bytes(password));
        const auto k = long_term_key("user", "realm", password);
        check_integrity(m, k);
    }
}

void build(FuzzedDataProvider& in) {
    static constexpr msg_class classes[] = {msg_class::request, msg_class::indication,
                                            msg_class::success, msg_class::error};
    const auto cls = classes[in.ConsumeIntegralInRange(0, 3)];
    transaction_id txid{};
    for (auto& b : txid) b = in.ConsumeIntegral<std::uint8_t>();
    builder b(binding, cls, txid);

    std::optional<udp_endpoint> ep;
    if (in.ConsumeBool()) {
        const auto port = in.ConsumeIntegral<std::uint16_t>();
        if (in.ConsumeBool()) {
            ep = udp_endpoint(boost::asio::ip::address_v4(in.ConsumeIntegral<std::uint32_t>()), port);
        } else {
            boost::asio::ip::address_v6::bytes_type ip{};
            for (auto& x : ip) x = in.ConsumeIntegral<std::uint8_t>();
            ep = udp_endpoint(boost::asio::ip::address_v6(ip), port);
        }
        b.xor_mapped_address(*ep);
    }
    std::optional<std::uint32_t> flags;
    if (in.ConsumeBool()) b.change_request(*(flags = in.ConsumeIntegral<std::uint32_t>()));
    std::string software;
    const bool with_software = in.ConsumeBool();
    if (with_software) {
        software = in.ConsumeRandomLengthString(300);
        b.software(software);
    }
    std::string key;
    const bool with_integrity = in.ConsumeBool();
    if (with_integrity) {
        key = in.ConsumeRandomLengthString(64);
        b.integrity(key_bytes(key));
    }
    const bool with_fingerprint = in.ConsumeBool();
    if (with_fingerprint) b.fingerprint();

    const auto out = b.bytes();
    FUZZ_CHECK(out.size() <= max_message_size);
    const std::vector<std::uint8_t> packet(out.begin(), out.end());
    message m;
    FUZZ_CHECK(parse(packet, m) == parse_error::none);
    check_message(packet, m);
    FUZZ_CHECK(m.method == binding && m.cls == cls && m.txid == txid);
    if (ep) FUZZ_CHECK(mapped_address(m) == ep);
    FUZZ_CHECK(change_request(m) == flags.value_or(0));
    if (with_software) {
        const auto* s = m.find(attr::software);
        FUZZ_CHECK(s != nullptr && s->value.size() <= 128);
        const std::string_view kept(reinterpret_cast<const char*>(s->value.data()), s->value.size());
        FUZZ_CHECK(software.starts_with(kept));
        // Cut only before a byte that starts a character.
        if (kept.size() < software.size())
            FUZZ_CHECK((static_cast<std::uint8_t>(software[kept.size()]) & 0xC0) != 0x80 ||
                       kept.empty());
    }
    if (with_integrity) {
        FUZZ_CHECK(check_integrity(m, key_bytes(key)));
        FUZZ_CHECK(!check_integrity(m, key_bytes(key + "x")));
    }
    FUZZ_CHECK(m.has_fingerprint == with_fingerprint);
}

}  // namespace
}  // namespace burrow::stun

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace burrow::stun;
    if (size < 1) return 0;
    const std::uint8_t mode = data[0] % 3;
    if (mode == 2) {
        FuzzedDataProvider in(data + 1, size - 1);
        build(in);
        return 0;
    }
    // A copy of exactly the datagram's size: a read past it is a heap overflow.
    parse_raw(std::vector<std::uint8_t>(data + 1, data + size), mode == 1);
    return 0;
}
