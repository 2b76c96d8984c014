// The session ledger (common/stream/ledger.hpp), driven the way a pump drives
// it, against a model of its contract.
//
// Input: the limits (per session, per process), then operations, one byte
// each plus their arguments, on two ledgers at once (the process-wide bound is
// shared): bytes read from the local end (only while room() says so, as the
// pump does), our fin, the peer's frames (offset, size, fin: in order or
// hostile) and acknowledgements (valid, one past the fin, going back,
// beyond), delivery to the local end, the acknowledgement we send, a
// re-attach or rewind to a resume point with its replay, the end of the
// session (drop_replay) and a ledger replaced by a new one.
//
// Properties, after every operation:
// - every call returns an error exactly when the contract says (accept:
//   gaps, overlaps, oversize, anything after fin; acknowledged: going back
//   or beyond what was sent, one past only after our fin);
// - once the peer's fin is accepted the inbound stream stays finished;
// - acked <= sent, unacked = sent - acked, and the replay holds exactly the
//   bytes [acked, sent) as they were sent; a replay from a resume point
//   sends the stream's own bytes, in pieces of at most max_chunk;
// - a ledger never holds more than its limit plus one read (the pump reads
//   only while room()); room() follows the session and process bounds; the
//   process-wide count is the sum of what the ledgers hold, and 0 once they
//   are gone;
// - the acknowledgement we send never goes back and never exceeds what was
//   received (+1 for the fin); ack_due() and ack_pending() say what they claim.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common/stream/frame.hpp"
#include "common/stream/ledger.hpp"
#include "fuzz_check.hpp"

namespace burrow::stream {
namespace {

// Reads the operations from the front of the input; zeros once it is used up.
class input {
public:
    input(const std::uint8_t* data, std::size_t size) : p_(data), n_(size) {}
    bool empty() const { return n_ == 0; }
    std::uint8_t byte() {
        if (n_ == 0) return 0;
        --n_;
        return *p_++;
    }
    std::uint64_t number(int bytes) {
        std::uint64_t v = 0;
        for (int i = 0; i < bytes; ++i) v = v << 8 | byte();
        return v;
    }

private:
    const std::uint8_t* p_;
    std::size_t n_;
};

// The byte at position `at` of a stream: what the local end "read". A
// pattern of prime period, so that reads are copies from a table (filling
// byte by byte was most of the time spent) and no chunk size lines it up
// with itself.
constexpr std::size_t period = 65521;

const std::uint8_t* pattern() {
    static const std::vector<std::uint8_t> table = [] {
        std::vector<std::uint8_t> t(period + max_chunk);
        for (std::size_t i = 0; i < t.size(); ++i) {
            const std::size_t x = i % period;
            t[i] = static_cast<std::uint8_t>(x ^ (x >> 8) ^ (x >> 13) ^ 0x5a);
        }
        return t;
    }();
    return table.data();
}

std::size_t phase(std::uint64_t at, std::uint8_t salt) {
    return static_cast<std::size_t>((at + salt * 257u) % period);
}

std::uint8_t stream_byte(std::uint64_t at, std::uint8_t salt) { return pattern()[phase(at, salt)]; }

chunk read_from_local(std::uint64_t at, std::size_t n, std::uint8_t salt) {
    auto c = chunk::allocate(n);
    std::memcpy(c.writable(), pattern() + phase(at, salt), n);
    return c;
}

// What the contract says a ledger holds.
struct model {
    std::size_t limit = 0;
    std::uint8_t salt = 0;
    // outbound
    std::uint64_t sent = 0, acked = 0;
    bool out_fin = false, fin_acked = false, ended = false;
    std::uint64_t held = 0, peak = 0;
    // inbound
    std::uint64_t received = 0, delivered = 0, ack_sent = 0;
    bool in_fin = false, fin_delivered = false;
    std::uint64_t ack_value() const { return delivered + (fin_delivered ? 1 : 0); }
};

struct side {
    std::unique_ptr<ledger> l;
    model m;
};

std::size_t process_limit = 0;
std::size_t bytes_made = 0;  // by read_from_local() for this input

void check(const side& s, const side& other) {
    const auto& l = *s.l;
    const auto& m = s.m;
    FUZZ_CHECK(l.sent() == m.sent);
    FUZZ_CHECK(l.acked() == m.acked);
    FUZZ_CHECK(l.acked() <= l.sent());
    FUZZ_CHECK(l.unacked() == m.sent - m.acked);
    FUZZ_CHECK(l.outbound_finished() == m.out_fin);
    FUZZ_CHECK(l.fin_acknowledged() == m.fin_acked);
    FUZZ_CHECK(l.received() == m.received);
    FUZZ_CHECK(l.delivered() == m.delivered);
    FUZZ_CHECK(l.inbound_finished() == m.in_fin);
    FUZZ_CHECK(l.ack_pending() == (m.ack_value() > m.ack_sent));
    FUZZ_CHECK(l.ack_due() == (m.ack_value() - m.ack_sent >= ledger::ack_every ||
                               (m.fin_delivered && m.ack_sent <= m.delivered)));
    FUZZ_CHECK(l.peak_held() >= m.held);
    FUZZ_CHECK(l.peak_held() >= m.peak);

    // The process's count is what the two ledgers hold.
    FUZZ_CHECK(ledger::process_held() == s.m.held + other.m.held);
    const bool room = m.sent - m.acked < m.limit &&
                      (m.held < ledger::process_floor || ledger::process_held() < process_limit);
    FUZZ_CHECK(l.room() == room);

    if (m.ended) return;  // drop_replay(): nothing is kept any more
    FUZZ_CHECK(m.held == m.sent - m.acked);
    // The pump reads (at most max_chunk) only while room(): the bound holds
    // but for that last read.
    FUZZ_CHECK(l.unacked() < m.limit + max_chunk);
    std::uint64_t at = m.acked, total = 0;
    for (const auto& c : l.replay()) {
        FUZZ_CHECK(!c.empty());
        // Every piece's ends, and all of it while the ring is small.
        FUZZ_CHECK(c.data()[0] == stream_byte(at, m.salt));
        FUZZ_CHECK(c.data()[c.size() - 1] == stream_byte(at + c.size() - 1, m.salt));
        if (m.sent - m.acked <= 4096)
            for (std::size_t i = 0; i < c.size(); ++i)
                FUZZ_CHECK(c.data()[i] == stream_byte(at + i, m.salt));
        at += c.size();
        total += c.size();
    }
    FUZZ_CHECK(total == m.sent - m.acked);
}

// The peer's acknowledgement, as handle_frame() passes it on.
void acknowledge(side& s, std::uint64_t ack) {
    auto& m = s.m;
    std::uint64_t a = ack;
    bool fin = false;
    if (m.out_fin && ack == m.sent + 1) {
        fin = true;
        a = m.sent;
    }
    const bool ok = a >= m.acked && a <= m.sent;
    const auto error = s.l->acknowledged(ack);
    FUZZ_CHECK(error.empty() == ok);
    if (fin) m.fin_acked = true;
    if (!ok) return;
    m.peak = std::max(m.peak, m.held);
    m.held -= std::min(a - m.acked, m.held);
    m.acked = a;
}

// pump::reattach()/rewind(): check_resume_point(), start_replay(), then the
// replay as write_replay() cuts it.
void resume(side& s, stream::resume_point peer) {
    auto& m = s.m;
    if (m.ended) return;
    if (peer.received < m.acked || peer.received > m.sent) return;  // refused by the pump
    if (peer.fin && !m.out_fin) return;
    acknowledge(s, peer.received);
    FUZZ_CHECK(s.l->acked() == peer.received);
    if (peer.fin) {
        s.l->peer_holds_fin();
        m.fin_acked = m.fin_acked || m.out_fin;
    }
    std::uint64_t next = peer.received;
    const std::uint64_t end = s.l->sent();
    while (next < end) {
        std::uint64_t at = s.l->acked(), piece_start = next, piece = 0;
        for (const auto& c : s.l->replay()) {
            const std::uint64_t c_end = at + c.size();
            if (c_end > next) {
                const auto from = static_cast<std::size_t>(next - at);
                if (piece > 0 && piece + c.size() - from > max_chunk) break;
                FUZZ_CHECK(c.data()[from] == stream_byte(next, m.salt));
                piece += c.size() - from;
                next = c_end;
            }
            at = c_end;
            if (at >= end) break;
        }
        FUZZ_CHECK(next > piece_start);  // the replay moves on
        FUZZ_CHECK(piece <= max_chunk);
    }
    FUZZ_CHECK(next == end);
}

void accept(side& s, std::uint64_t offset, std::size_t size, bool fin) {
    auto& m = s.m;
    bool ok = true;
    if (m.in_fin && (size > 0 || fin || offset != m.received)) ok = false;
    if (size > max_frame_data || offset != m.received) ok = false;
    const auto error = s.l->accept(offset, size, fin);
    FUZZ_CHECK(error.empty() == ok);
    if (!ok) return;
    m.received += size;
    m.in_fin = m.in_fin || fin;  // "nothing after fin" (ledger.hpp)
}

void step(input& in, side& s, side& other) {
    auto& m = s.m;
    const std::uint8_t op = in.byte();
    switch (op % 12) {
        case 0: {  // the local end read n bytes (small reads mostly)
            if (m.ended || m.out_fin || !s.l->room()) break;
            const auto k = in.byte();
            const std::size_t n = k < 224 ? k + 1 : std::min<std::size_t>((k - 223) * 8192u, max_chunk);
            // Bounded work per input: enough to pass the process's smallest
            // bound (600 KiB) and a 1 MiB session limit.
            if (bytes_made + n > (2u << 20)) break;
            bytes_made += n;
            s.l->sent(read_from_local(m.sent, n, m.salt));
            m.sent += n;
            m.held += n;
            break;
        }
        case 1:  // our fin
            if (m.ended || m.out_fin) break;
            s.l->sent_fin();
            m.out_fin = true;
            break;
        case 2: {  // an acknowledgement within what was sent
            const auto span = m.sent - m.acked;
            acknowledge(s, m.acked + (span == 0 ? 0 : in.number(4) % (span + 1)));
            break;
        }
        case 3:  // one past the end: our fin reached the peer (or not: no fin sent)
            acknowledge(s, m.sent + 1);
            break;
        case 4: {  // a hostile acknowledgement
            const auto how = in.byte() % 4;
            const auto v = in.number(how == 0 ? 8 : 2);
            acknowledge(s, how == 0 ? v : how == 1 ? m.acked - std::min(v, m.acked) : how == 2 ? m.sent + v : v);
            break;
        }
        case 5: {  // a re-attach or rewind: the peer holds this much of ours
            const auto span = m.sent - m.acked;
            const auto how = in.byte();
            std::uint64_t r = m.acked + (span == 0 ? 0 : in.number(4) % (span + 1));
            if (how % 8 == 7) r = in.number(8);  // a point outside what was sent
            resume(s, {r, (how & 0x10) != 0});
            break;
        }
        case 6: {  // the peer's next data frame, in order
            const auto k = in.byte();
            const std::size_t size = k < 240 ? k : k == 255 ? max_frame_data : max_frame_data / 4;
            accept(s, m.received, size, (in.byte() & 1) != 0);
            break;
        }
        case 7: {  // a hostile frame
            const auto how = in.byte();
            std::uint64_t offset = m.received;
            if (how & 1) offset += static_cast<std::int8_t>(in.byte());
            if (how & 2) offset = in.number(8);
            std::size_t size = in.number(2);
            if (how & 4) size = max_frame_data + (in.byte() % 2);
            if (how & 8) size = static_cast<std::size_t>(in.number(8));
            accept(s, offset, size, (how & 16) != 0);
            break;
        }
        case 8: {  // bytes reached our local end; then maybe the fin
            const auto undelivered = m.received - m.delivered;
            const auto n = undelivered == 0 ? 0 : in.number(3) % (undelivered + 1);
            s.l->delivered(static_cast<std::size_t>(n));
            m.delivered += n;
            if (m.in_fin && m.delivered == m.received && !m.fin_delivered && (in.byte() & 1)) {
                s.l->delivered_fin();
                m.fin_delivered = true;
            }
            break;
        }
        case 9: {  // a frame goes out: it carries our acknowledgement
            const auto before = m.ack_sent;
            const auto ack = s.l->take_ack();
            FUZZ_CHECK(ack == m.ack_value());
            FUZZ_CHECK(ack >= before);
            FUZZ_CHECK(ack <= m.received + (m.in_fin ? 1 : 0));
            m.ack_sent = ack;
            break;
        }
        case 10:  // the session ended
            s.l->drop_replay();
            m.peak = std::max(m.peak, m.held);
            m.held = 0;
            m.ended = true;
            break;
        case 11: {  // the ledger goes; a new session takes its place
            s.l.reset();
            FUZZ_CHECK(ledger::process_held() == other.m.held);
            const auto limit = m.limit;
            m = model{};
            m.limit = limit;
            m.salt = in.byte();
            s.l = std::make_unique<ledger>(limit);
            break;
        }
    }
    check(s, other);
}

}  // namespace
}  // namespace burrow::stream

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace burrow::stream;
    FUZZ_CHECK(ledger::process_held() == 0);  // the previous input left nothing behind
    input in(data, size);
    static constexpr std::array<std::size_t, 8> session_limits{
        1, 10, 4096, 65536, 300u << 10, 1u << 20, 4u << 20, ledger::default_replay_limit};
    static constexpr std::array<std::size_t, 4> process_limits{
        600u << 10, 1u << 20, 3u << 20, ledger::default_process_limit};
    bytes_made = 0;
    const auto limits = in.byte();
    process_limit = process_limits[(limits >> 3) % process_limits.size()];
    ledger::configure(session_limits[limits % session_limits.size()], process_limit);
    {
        std::array<side, 2> sides;
        for (auto& s : sides) {
            const auto choice = in.byte();
            // 0: the process's setting (ledger(0)); else a limit of its own.
            s.m.limit = choice % 9 == 0 ? ledger::session_limit()
                                        : session_limits[(choice % 9 - 1) % session_limits.size()];
            s.l = std::make_unique<ledger>(choice % 9 == 0 ? 0 : s.m.limit);
            s.m.salt = in.byte();
        }
        // Bounded work per input: at most 1000 operations.
        for (int i = 0; i < 1000 && !in.empty(); ++i) {
            const bool second = (in.byte() & 1) != 0;
            step(in, sides[second], sides[!second]);
        }
    }
    FUZZ_CHECK(ledger::process_held() == 0);
    return 0;
}
