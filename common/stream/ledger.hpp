// ledger: the bookkeeping of one session's two byte streams, pure code that
// unit tests feed with frames' numbers.
//
// Inbound (what the peer sends): every data frame must continue the stream
// exactly where the previous one ended, stay under max_frame_data, and carry
// nothing after fin; what reached our local end is what we acknowledge.
//
// Outbound (what we send): every byte keeps a reference in the replay ring
// until the peer acknowledges that it reached its local end, so that a
// session can be re-attached over a new carrier and replay the rest
// (DESIGN.md §1). The ring is bounded: once `replay_limit` bytes wait for an
// acknowledgement, the pump stops reading from its local end (room() is
// false); an idle session holds nothing once its last bytes are acknowledged.
// All sessions of the process together are bounded too (configure()): past
// that bound a session holding more than a minimum of its own stops
// reading as well, and goes on as the acknowledgements come in.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/stream/chunk.hpp"

namespace burrow::stream {

class ledger {
public:
    // The default bound on unacknowledged bytes: above what one session moves
    // in a round trip on a long fast path (3.5 Gbit/s x 100 ms is 44 MiB), so
    // the bound never limits throughput, while HTTP/2 flow control bounds
    // what is in flight anyway.
    static constexpr std::size_t default_replay_limit = 64u << 20;
    static constexpr std::size_t default_process_limit = 512u << 20;
    // Below this a session is never held back by the process's bound: it
    // keeps moving, so its own acknowledgements free what it holds.
    static constexpr std::size_t process_floor = 512u << 10;
    // The process's settings (resume_buffer, resume_buffer_total); ledgers
    // made with replay_limit 0 take the first.
    static void configure(std::size_t per_session, std::size_t per_process) noexcept;
    static std::size_t session_limit() noexcept;
    // Unacknowledged bytes all sessions of the process hold now.
    static std::size_t process_held() noexcept;
    // Acknowledge at least every this many delivered bytes, in an ack-only
    // frame when no data frame goes the other way. An ack-only frame costs a
    // message and a wake-up on each side: every 512 KiB they cost 15-20% of
    // TLS throughput on loopback, every 4 MiB nothing measurable.
    static constexpr std::uint64_t ack_every = 4u << 20;

    // `replay_limit` 0: the process's resume_buffer.
    explicit ledger(std::size_t replay_limit = 0)
        : replay_limit_(replay_limit ? replay_limit : session_limit()) {}
    ~ledger() { release(held_); }
    ledger(const ledger&) = delete;
    ledger& operator=(const ledger&) = delete;

    // ---- inbound ----
    // Accepts a data frame (offset of its first byte, payload size, fin).
    // Returns "" when fine, otherwise what is wrong with it.
    std::string accept(std::uint64_t offset, std::size_t size, bool fin);
    // `n` received bytes reached our local end.
    void delivered(std::size_t n) noexcept { delivered_ += n; }
    // The peer's fin reached our local end (its socket was shut down for
    // writing): the next acknowledgement counts it as one byte more.
    void delivered_fin() noexcept { fin_delivered_ = true; }
    std::uint64_t received() const noexcept { return received_; }
    std::uint64_t delivered() const noexcept { return delivered_; }
    bool inbound_finished() const noexcept { return in_fin_; }
    // The acknowledgement for a frame about to go out (recorded as sent):
    // the bytes delivered, plus one once the fin is.
    std::uint64_t take_ack() noexcept { return ack_sent_ = ack_value(); }
    // Delivered bytes (or the fin) no frame has acknowledged yet.
    bool ack_pending() const noexcept { return ack_value() > ack_sent_; }
    // Enough of them to send an ack-only frame at once; the fin's
    // acknowledgement always is (the peer waits for it to end).
    bool ack_due() const noexcept {
        return ack_value() - ack_sent_ >= ack_every || (fin_delivered_ && ack_sent_ <= delivered_);
    }

    // ---- outbound ----
    // Records `bytes`, sent at sent(), for replay until acknowledged.
    void sent(chunk bytes);
    void sent_fin() noexcept { out_fin_ = true; }
    std::uint64_t sent() const noexcept { return sent_; }
    bool outbound_finished() const noexcept { return out_fin_; }
    // The peer's acknowledgement: drops what it covers; one past what was
    // sent, after our fin, says the fin reached the peer's local end too.
    // "" or the problem (acknowledgements never go back, nor beyond that).
    std::string acknowledged(std::uint64_t ack);
    // Our fin reached the peer's local end (or, on a re-attach, the peer
    // holds it): nothing of ours is left to lose.
    bool fin_acknowledged() const noexcept { return fin_acked_; }
    void peer_holds_fin() noexcept { fin_acked_ = fin_acked_ || out_fin_; }
    std::uint64_t acked() const noexcept { return acked_; }
    std::size_t unacked() const noexcept { return static_cast<std::size_t>(sent_ - acked_); }
    // The most bytes held for replay at once so far (what the session's
    // bound and the round trip made it keep).
    std::size_t peak_held() const noexcept { return std::max(peak_held_, held_); }
    // Room to read more from the local end.
    bool room() const noexcept {
        return unacked() < replay_limit_ && (held_ < process_floor || within_process_limit());
    }
    // What a re-attach replays: the unacknowledged bytes, from acked() on.
    std::span<const chunk> replay() const noexcept {
        return {replay_.data() + head_, replay_.size() - head_};
    }
    // Frees the replay bytes (the session ended: nobody can ask for them).
    void drop_replay() noexcept;

private:
    static bool within_process_limit() noexcept;
    static void hold(std::size_t n) noexcept;
    static void release(std::size_t n) noexcept;

    std::size_t replay_limit_;
    std::size_t held_ = 0;  // bytes in the ring, counted in the process's total
    std::size_t peak_held_ = 0;  // of held_, as an acknowledgement came (it grows only between)
    std::uint64_t ack_value() const noexcept { return delivered_ + (fin_delivered_ ? 1 : 0); }

    std::uint64_t received_ = 0, delivered_ = 0, ack_sent_ = 0;
    bool in_fin_ = false, fin_delivered_ = false;
    std::uint64_t sent_ = 0, acked_ = 0;
    bool out_fin_ = false, fin_acked_ = false;
    // Bytes [acked_, sent_), in order, from replay_[head_]. A vector, not a
    // deque: an empty one costs nothing (an idle session holds nothing).
    std::vector<chunk> replay_;
    std::size_t head_ = 0;
};

}  // namespace burrow::stream
