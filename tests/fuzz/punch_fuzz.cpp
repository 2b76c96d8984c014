// Punch packets (common/p2p/punch_packet.hpp): what arrives on a direct
// path's UDP socket from anyone, checked by one attempt's receiver.
//
// Input: one byte of settings (whether each datagram gets a correct MAC first,
// so that the fuzzer reaches what is checked after it; whether to also encode
// fields and read them back), then datagrams: a length byte and its bytes.
//
// Properties:
// - a datagram is accepted only when well formed, signed with the attempt's
//   key, of this punch, from the other role; the fields read are the bytes'
//   own; and a probe's sequence number is accepted at most once: exactly the
//   documented window (the last 64 beyond the highest; older ones refused);
// - what encode() writes is accepted by the other role and reads back the same;
// - every packet the receiver does not refuse as malformed is one the direct
//   path's dispatch() hands to it (looks_like_punch() and 42 bytes).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <set>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/p2p/punch_packet.hpp"
#include "fuzz_check.hpp"

namespace burrow::punch {
namespace {

constexpr std::uint64_t our_punch = 0x0123456789ABCDEFull;

const key& attempt_key() {
    static const key k = derive_key("fuzz-secret-key", our_punch, "nonce-0123456789");
    return k;
}

std::uint64_t get64(const std::uint8_t* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
    return v;
}

// The MAC that makes `p`'s first 26 bytes authentic.
void sign(std::vector<std::uint8_t>& p) {
    if (p.size() < packet_size) return;
    std::uint8_t mac[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), attempt_key().data(), static_cast<int>(attempt_key().size()), p.data(), 26,
         mac, &n);
    std::memcpy(&p[26], mac, 16);
}

// The receiver's contract for probes, kept independently.
struct replay_model {
    bool any = false;
    std::uint32_t highest = 0;
    std::set<std::uint32_t> seen;
    bool fresh(std::uint32_t seq) const {
        if (!any || seq > highest) return true;
        return highest - seq < 64 && !seen.count(seq);
    }
    void take(std::uint32_t seq) {
        highest = any ? std::max(highest, seq) : seq;
        any = true;
        seen.insert(seq);
    }
};

void check_datagram(receiver& r, replay_model& probes, role self, std::vector<std::uint8_t> d,
                    bool signed_first) {
    if (signed_first) sign(d);
    const auto looks = looks_like_punch(d);

    const bool well_formed = d.size() == packet_size && d[0] == kind_byte && d[3] == 0 &&
                             d[24] == 0 && d[25] == 0 && (d[1] == 1 || d[1] == 2) &&
                             (d[2] == 1 || d[2] == 2);
    std::uint8_t mac[32];
    unsigned int n = 0;
    bool authentic = false;
    if (well_formed) {
        HMAC(EVP_sha256(), attempt_key().data(), 32, d.data(), 26, mac, &n);
        authentic = std::memcmp(mac, &d[26], 16) == 0;
    }
    fields f;
    const auto result = r.check(d, f);
    FUZZ_CHECK(!to_string(result).empty());
    if (!well_formed) {
        FUZZ_CHECK(result == refusal::malformed);
        return;
    }
    // direct_path.cpp's dispatch() hands it to the punch receiver (before
    // STUN, whose looks_like_stun() a punch packet may pass too).
    FUZZ_CHECK(looks && d.size() == packet_size);
    if (!authentic) {
        FUZZ_CHECK(result == refusal::forged);
        return;
    }
    const auto seq = static_cast<std::uint32_t>(get64(&d[8]) & 0xFFFFFFFF);
    refusal expected = refusal::none;
    if (get64(&d[4]) != our_punch)
        expected = refusal::wrong_punch;
    else if (d[2] == static_cast<std::uint8_t>(self))
        expected = refusal::own_role;
    else if (d[1] == 1 && !probes.fresh(seq))
        expected = refusal::replayed;
    FUZZ_CHECK(result == expected);
    if (result == refusal::none) {
        FUZZ_CHECK(static_cast<std::uint8_t>(f.kind) == d[1]);
        FUZZ_CHECK(f.sender != self);
        FUZZ_CHECK(f.punch_id == our_punch && f.seq == seq && f.sent_us == get64(&d[16]));
        if (f.kind == type::probe) probes.take(seq);
    }
}

void round_trip(FuzzedDataProvider& in) {
    fields f;
    f.kind = in.ConsumeBool() ? type::probe : type::answer;
    f.sender = in.ConsumeBool() ? role::visitor : role::home;
    f.punch_id = in.ConsumeIntegral<std::uint64_t>();
    f.seq = in.ConsumeIntegral<std::uint32_t>();
    f.sent_us = in.ConsumeIntegral<std::uint64_t>();
    const auto secret = in.ConsumeRandomLengthString(64);
    const auto nonce = in.ConsumeRandomLengthString(32);
    const auto k = derive_key(secret, f.punch_id, nonce);
    const auto p = encode(f, k);
    FUZZ_CHECK(looks_like_punch(p) && p.size() == packet_size);
    const role other = f.sender == role::visitor ? role::home : role::visitor;
    receiver r(k, f.punch_id, other);
    fields back;
    FUZZ_CHECK(r.check(p, back) == refusal::none);
    FUZZ_CHECK(back.kind == f.kind && back.sender == f.sender && back.punch_id == f.punch_id);
    FUZZ_CHECK(back.seq == f.seq && back.sent_us == f.sent_us);
    // The same probe again is a replay; our own packet reflected is refused.
    if (f.kind == type::probe) FUZZ_CHECK(r.check(p, back) == refusal::replayed);
    receiver self(k, f.punch_id, f.sender);
    FUZZ_CHECK(self.check(p, back) == refusal::own_role);
    // Another attempt's key: forged.
    receiver stranger(derive_key(secret + "x", f.punch_id, nonce), f.punch_id, other);
    FUZZ_CHECK(stranger.check(p, back) == refusal::forged);
}

}  // namespace
}  // namespace burrow::punch

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace burrow::punch;
    if (size < 1) return 0;
    const std::uint8_t settings = data[0];
    const bool signed_first = (settings & 1) != 0;
    const role self = (settings & 2) != 0 ? role::visitor : role::home;
    receiver r(attempt_key(), our_punch, self);
    replay_model probes;
    std::size_t at = 1;
    // Datagrams: a length byte, then that many bytes (what is left, at the end).
    for (int i = 0; i < 512 && at < size; ++i) {
        const std::size_t length = data[at++];
        const std::size_t n = std::min(length, size - at);
        check_datagram(r, probes, self, {data + at, data + at + n}, signed_first);
        at += n;
    }
    if ((settings & 4) != 0) {
        FuzzedDataProvider in(data + 1, size - 1);
        round_trip(in);
    }
    return 0;
}
