// pump: one session's bytes between a local end and a carrier (carrier.hpp).
// The local end is a stream socket (a user's TCP connection, a connection to
// a local service), or, for the HTTP vhost, the pump itself: read_some /
// write_some hand bytes to an in-process reader and writer (local_stream.hpp).
// The carrier is a gRPC Work stream today; the pump knows no transport.
//
// Threads (docs/life_of_a_connection.md): all state is guarded by one mutex,
// and each event is handled on the thread it arrives on. A received frame is
// written to the socket right there in the carrier's completion when the
// socket has room (it usually has), and a socket read is handed to the
// carrier from the Asio thread that saw it. Handing every event to a strand
// instead cost a thread wake-up per event, the largest single cost per
// request. The pump calls the carrier under its lock: carriers never complete
// inline (carrier.hpp). Callbacks into other code (the head handler,
// in-process completions) run after the lock is released.
//
// Data flows as two half-pumps, each pipelined one frame deep and bounded:
//   local -> carrier: read what the socket holds (<= max_chunk) into a frame;
//                    while one frame is being written, the next one is read
//                    and waits; then the socket is left alone until the
//                    write completes (backpressure), or until the peer
//                    acknowledges bytes when the ledger's replay bound is full.
//   carrier -> local: while one frame is being written to the socket, the
//                    next is read from the carrier and waits; then reading
//                    stops and the transport's flow control holds the peer.
// The ledger (ledger.hpp) checks what arrives, keeps what was sent until the
// peer acknowledges it, and says when our acknowledgements are due: they ride
// on data frames, or go alone when nothing else goes the other way.
// EOF on the local end sends fin; fin from the carrier shuts down the local
// write side, so TCP half-close is kept end to end. When both directions have
// finished, or on any error, the pump ends once, and the carrier is finished
// exactly once; after that it never touches the carrier again.
//
// Lifetime: whoever holds the carrier holds a shared_ptr to the pump until
// the carrier is done; the pump holds a raw carrier* until it finishes it.
// Pending Asio operations and entry points keep the pump alive through
// shared_from_this().
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/generic/stream_protocol.hpp>

#include "common/stream/carrier.hpp"
#include "common/stream/ledger.hpp"
#include "common/stream/meter.hpp"
#include "common/stream/rate_limit.hpp"
#include "common/unique_function.hpp"

namespace burrow::stream {

// Told when a resumable session detaches (the client's resumer).
class resume_listener {
public:
    virtual void detached(std::uint64_t session_id) = 0;

protected:
    virtual ~resume_listener() = default;
};

class pump : public std::enable_shared_from_this<pump>, public carrier::events {
public:
    using executor = boost::asio::any_io_executor;
    using error_code = boost::system::error_code;
    // Gets the first frame, serialized (a burrow.v1.Frame with a hello or start).
    using head_handler = unique_function<void(std::string serialized_head)>;
    using stream_socket = boost::asio::generic::stream_protocol::socket;
    using io_handler = unique_function<void(error_code, std::size_t)>;

    // `ex` runs the socket's operations; `replay_limit` bounds the bytes kept
    // until the peer acknowledges them (ledger.hpp; 0: the process's resume_buffer).
    explicit pump(executor ex, std::size_t replay_limit = 0);
    ~pump();
    pump(const pump&) = delete;
    pump& operator=(const pump&) = delete;

    // Must be called once, before any other call, by the carrier's owner.
    void attach(carrier* c) { carrier_ = c; }

    // ---- carrier::events, from the carrier's threads ----
    void on_read_done(const carrier* from, bool ok) override;
    void on_write_done(const carrier* from, bool ok) override;

    // ---- owner API; safe from any thread ----
    // Writes a head frame (a serialized hello/start) ahead of any data.
    void send_head(std::string serialized_head);
    // Reads the first frame and passes it to `on_head` (outside the lock, on a
    // carrier thread). A failed read, or a first frame that is no head, ends
    // the pump; an error frame instead (the peer refuses) goes to
    // `on_refused` first, when given.
    void read_head(head_handler on_head, unique_function<void(std::string why)> on_refused = {});
    // Gives the carrier to another user (the server's visitor splice, which
    // passes frames on unchanged) once what was written before (a head) is
    // out: `to` gets it then, outside the lock, or nullptr when the pump ended
    // first or is not idle (its head read, not started, no read outstanding).
    // The pump ends without finishing the carrier, which is `to`'s now.
    void hand_over(unique_function<void(carrier*)> to);
    // Starts pumping between `socket` and the carrier; `already_read` (bytes
    // taken from the socket before, such as a TLS ClientHello) goes first.
    // Returns false, leaving `socket` as it is, when the pump has already
    // ended. A `quiet` pump logs its close at debug level (the HTTP vhost's
    // upstream connections: the requests are what matters).
    bool start(stream_socket& socket, std::string tag, std::string already_read = {},
               bool quiet = false);
    // Starts pumping between the in-process end and the carrier. Returns false
    // when the pump has already ended.
    bool start_local(std::string tag, bool quiet = false);
    // Tells the peer why this connection cannot be served, then ends.
    void fail(std::string reason);
    // Ends at once: closes the local end and the carrier.
    void close(std::string reason);
    // The carrier is gone (a transport break): the session goes on without
    // one. The carrier is abandoned (finished, !ok) once its write in flight
    // returns; the local end stays open, and what it sends is taken into the
    // ledger, up to its bound, for a re-attach to replay. Only a pumping
    // session detaches.
    void detach();

    // ---- resumption (DESIGN.md §1; pump_resume.cpp) ----
    static constexpr std::size_t secret_size = 16;
    // Makes the session outlive its carrier: a carrier that breaks while
    // pumping detaches the pump instead of ending it. A re-attach must
    // present `secret` (secret_size bytes; resume_secret_is) and come from
    // `owner` (an opaque identity: the server's run; resume_owned_by).
    // Detached for `keep` without a re-attach, the pump resets its local end
    // (RST, so nobody mistakes a lost session for a finished one).
    // `listener`, when given, is told (outside the lock) each time the pump
    // detaches, with `id`. Costs nothing until a first detach.
    void set_resumable(std::string_view secret, const void* owner, std::chrono::milliseconds keep,
                       std::weak_ptr<resume_listener> listener = {}, std::uint64_t id = 0);
    // How much of a stream one end holds: a re-attach starts from there.
    using resume_point = stream::resume_point;
    // What we hold of the peer's stream (a re-attach request carries it).
    resume_point received_so_far();
    // Re-attaches `c` (taken over from a fresh stream's pump, hand_over):
    // the peer holds `peer` of what we sent, the rest is replayed; then the
    // session goes on. `answer`, when given, makes the head frame that goes
    // first, from our own resume point. A carrier still attached is dropped
    // (the new one proved the key). Returns "" or why not; then `c` is not
    // taken (the caller finishes it).
    std::string reattach(carrier* c, resume_point peer,
                         unique_function<std::string(resume_point)> answer = {});
    // A mid-stream Resume on the carrier we keep (the server's visit splice:
    // the other end came back on a new stream, holding `peer`) is handled
    // like a re-attach on the same carrier: we answer Resumed and replay.
    bool resume_owned_by(const void* owner);
    // Compared in constant time; false when the session is not resumable.
    bool resume_secret_is(std::string_view secret);
    std::string resume_secret();
    // The carrier is gone (its RPC was cancelled): a resumable session
    // detaches, any other ends. With `from`, only when that is still our
    // carrier (a stream we left for a new one says so too, later).
    void lost(const std::string& why, const carrier* from = nullptr);
    // Ends the session with a reset local end (a re-attach was refused).
    void reset(std::string reason);
    // No re-attach can come any more (the peer's run is over): a detached
    // session is reset now, an attached one ends when its carrier breaks.
    void end_resumption(const std::string& why);
    bool detached() const noexcept { return detached_flag_.load(std::memory_order_relaxed); }

    // (Asio's socket has no const get_executor(); reading it changes nothing.)
    executor get_executor() const {
        return const_cast<stream_socket&>(socket_).get_executor();
    }
    // True on a thread that is running one of our carrier completions (and
    // what it completes): a completion from here may run inline on the
    // reader's strand; one caused by the owner's own call (close_local) must
    // be posted, or it would run nested inside that call.
    static bool in_reaction() noexcept;
    // Relaxed view for pools deciding whether the stream is worth handing out.
    bool ended() const noexcept { return ended_flag_.load(std::memory_order_relaxed); }

    // ---- the in-process end (after start_local) ----
    // Socket-like calls, at most one read and one write outstanding. Each
    // either completes at once (returns the result and leaves `later` alone;
    // the caller must not run its handler inline) or keeps `*later` and calls
    // it once, from whatever thread completes it, never under the lock.
    // Without `later`, a call that would wait fails with would_block instead
    // (a non-blocking socket's behaviour).
    struct io_result {
        bool done = false;
        error_code ec;
        std::size_t n = 0;
    };
    // Reads into `into`; eof after the peer's fin.
    io_result read_some(boost::asio::mutable_buffer into, io_handler* later);
    // Takes up to max_chunk bytes of `from` into a frame. Completes at once
    // while fewer than two frames wait for the carrier; otherwise once one is
    // written (backpressure).
    io_result write_some(std::span<const boost::asio::const_buffer> from, io_handler* later);
    // Sends fin after what was written (TCP shutdown of the send side).
    void shutdown_send();
    // The owner is done with the connection: pending operations fail with
    // operation_aborted, fin goes out, the pump ends when the peer's fin
    // arrives; data arriving after this resets the connection (as a closed
    // socket would).
    void close_local();
    // True when the in-process end is open, its peer has not closed it and
    // nothing unread waits: fit for another request.
    bool local_reusable();

    // Sends an ack-only frame if delivered bytes wait for an acknowledgement
    // and nothing goes the other way (the registry's sweep calls it).
    void flush_ack();
    // Runs `f` once the pump has ended (outside its lock), or at once when it
    // has already: how a registry lets go of it. Each call adds one, run in
    // the order given.
    void on_end(unique_function<void()> f);

    // The session's bookkeeping, for tests and (next) re-attachment. Under the lock.
    struct totals {
        std::uint64_t sent = 0, acked = 0, received = 0, delivered = 0;
        std::size_t unacked = 0;
        unsigned resumptions = 0;
    };
    totals counts();
    // Who is at the other end of the local socket ("ip:port"), for listings.
    void set_peer(std::string peer);
    // Counts the bytes from and to the local end from now on into `m` too,
    // readable while they flow (nullptr: no longer).
    void set_meter(std::shared_ptr<meter> m);
    // Moves no more than `limit` allows in each direction (a proxy's
    // bandwidth_limit, shared by its sessions; pump_throttle.cpp): a socket
    // end waits before its next read, or before the next carrier read, while
    // that direction's bucket is in debt. Before start(); socket ends only.
    void set_rate_limit(std::shared_ptr<rate_limit> limit);
    // One line of a listing (burrow-client status, later the dashboard).
    struct snapshot {
        std::string tag, peer;
        std::string_view path = "relay";  // the carrier's (carrier::path), "detached"
        double age_seconds = 0;
        totals counts;
        bool pumping = false, detached = false;
        bool quiet = false;  // started quiet (an http proxy's upstream connection)
    };
    snapshot describe();

private:
    enum class mode : std::uint8_t { head, idle, pumping };
    enum class local_kind : std::uint8_t { socket, in_process };

    // A received data frame on its way to the local end.
    struct down_chunk {
        pieces data;                                     // keeps the payload alive
        std::vector<boost::asio::const_buffer> buffers;  // what is not delivered yet
        std::size_t size = 0;
        bool fin = false;
        // Empties it, keeping the vectors' capacity for the next frame.
        void clear() {
            data.clear();
            buffers.clear();
            size = 0;
            fin = false;
        }
    };
    // Received frames waiting for the local end, each in its own slot for
    // its whole life: a chunk's buffers point into its pieces, and a chunk of
    // up to 23 bytes keeps them inside itself, so a slot's pieces never move.
    // Slots keep their vectors' capacity: no allocation per frame.
    class down_queue {
    public:
        static constexpr std::size_t capacity = 2;  // counting the one being delivered
        bool empty() const noexcept { return count_ == 0; }
        bool full() const noexcept { return count_ == capacity; }
        down_chunk& front() noexcept { return slots_[head_]; }
        // The slot push() adds next; fill it in place.
        down_chunk& back_slot() noexcept { return slots_[(head_ + count_) % capacity]; }
        void push() noexcept { ++count_; }
        void pop() {
            slots_[head_].clear();
            head_ = static_cast<std::uint8_t>((head_ + 1) % capacity);
            --count_;
        }
        void clear() {
            while (!empty()) pop();
        }
        // True when a waiting chunk still has bytes (not only fin) to deliver.
        bool has_bytes() const noexcept {
            for (std::size_t i = 0; i < count_; ++i)
                if (!slots_[(head_ + i) % capacity].buffers.empty()) return true;
            return false;
        }

    private:
        std::array<down_chunk, capacity> slots_;
        std::uint8_t head_ = 0, count_ = 0;
    };
    // Bytes from the local end for the next data frame; the frame's ack is
    // filled in when it goes out, so that it is current.
    struct up_piece {
        std::uint64_t offset = 0;
        std::size_t size = 0;
        pieces data;
        bool fin = false;
    };
    class locked;
    struct resume_state;

    void begin_pumping(local_kind local, std::string tag, bool quiet);
    void issue_read();
    void handle_frame();
    void handle_control();
    void deliver();
    void write_socket_next();
    void on_socket_written(const error_code& ec, std::size_t n);
    void chunk_delivered();
    void deliver_local();
    void queue_fin();
    io_result take_down(boost::asio::mutable_buffer into);
    void after_take();

    void read_socket();
    void on_socket_readable(const error_code& ec);  // takes the lock itself
    void close_socket();  // now, or when the read outside the lock returns
    // Takes `n` bytes moved in direction `d` from the rate limit, if any; in
    // debt, that direction waits (throttled_) until a timer says it may go on.
    void charge(rate_limit::direction d, std::size_t n);
    void stop_throttle();
    up_piece take_piece(pieces data, std::size_t n, bool fin);
    void send_piece(up_piece piece);
    bool room_for_piece() const { return (detached_ || !ready_) && ledger_.room(); }
    void write_piece(up_piece piece);
    bool replaying() const noexcept;
    void write_replay();
    void broken(const std::string& why);
    void detach_locked(const std::string& why);
    void attach_waiting();
    void attach_now();
    void on_keep_expired();
    void rewind(resume_point peer);
    std::string check_resume_point(resume_point peer) const;
    bool start_replay(resume_point peer);
    void reset_locked(const std::string& why);
    void write_control(frame::kind type, std::string text);
    void write_next_control();
    void after_write();
    void local_may_refill();
    void ack_if_due();
    void send_ack_alone();
    bool writer_idle() const {
        return carrier_ && !writing_ && control_.empty() && !ready_ && !replaying();
    }

    void complete_hand_over();
    void finish_if_done();
    void inbound_done();
    void socket_error(const char* what, const error_code& ec);
    void abort(const std::string& reason);
    void end(bool ok);
    void finish_carrier(bool ok);
    void fail_local_ops(const error_code& ec);

    std::mutex mutex_;
    stream_socket socket_;  // also the pump's executor (a socket end or not)
    carrier* carrier_ = nullptr;
    // A detached carrier whose read is still outstanding: it reads into in_,
    // so the next carrier waits for it. (One whose write is outstanding is
    // finished once that returns: resume_state::leaving.)
    const carrier* old_reader_ = nullptr;
    // Resumption: what set_resumable gave, kept small (every session has
    // it); the rest only once detached (resume_state).
    std::array<std::uint8_t, secret_size> resume_secret_{};
    const void* resume_owner_ = nullptr;
    std::uint64_t resume_id_ = 0;
    std::weak_ptr<resume_listener> resume_listener_;
    std::unique_ptr<resume_state> resume_;
    bool resumable() const noexcept { return resume_keep_ms_ > 0 && !resume_over_; }
    head_handler on_head_;
    ledger ledger_;
    // Run by `locked` once the lock is released: the head handler's call (or
    // the refusal's, or the hand-over's: head_due_), the end handler, and
    // the in-process end's completions (in_process_end).
    unique_function<void()> head_due_, end_due_;
    unique_function<void(std::string)> on_refused_;
    unique_function<void(carrier*)> hand_over_;
    unique_function<void()> on_end_;

    frame in_;          // carrier -> local: target of the outstanding carrier read
    down_queue down_;   // received, not yet delivered
    std::optional<up_piece> ready_;      // local -> carrier: next data frame, read ahead
    std::vector<frame> control_;         // head/error frames, first

    // What only some local ends need, in one allocation of their own, so
    // that the others do not carry the room: the in-process end's pending
    // operations and their completions (local_kind::in_process), or a
    // rate-limited socket end's bucket and timers (set_rate_limit).
    struct local_extra;
    struct in_process_end;
    struct throttle;
    std::unique_ptr<local_extra> extra_;
    in_process_end* in_process() const noexcept;  // null unless in_process
    throttle* throttling() const noexcept;        // null unless rate-limited

    std::string tag_;
    std::shared_ptr<meter> meter_;
    std::string peer_;
    std::chrono::steady_clock::time_point started_at_;

    // Flags and small state, side by side: every byte of a pump counts in
    // what an idle connection costs.
    std::uint32_t resume_keep_ms_ = 0;  // 0: not resumable
    mode mode_ = mode::head;
    local_kind local_ = local_kind::socket;
    bool detached_ = false;
    bool resume_over_ = false;     // end_resumption()
    // carrier -> local
    bool reading_ = false;         // a carrier read is outstanding
    bool socket_writing_ = false;  // down_.front() is being written to the socket
    bool down_done_ = false;       // fin delivered (socket write side shut / reader saw eof)
    // local -> carrier
    bool writing_fin_ = false;     // the outstanding carrier write carries fin
    bool writing_ = false;         // a carrier write is outstanding
    bool write_failed_ = false;    // ... failed; the outstanding read tells why
    bool socket_waiting_ = false;  // a socket wait (and then read) is outstanding
    bool socket_reading_ = false;  // ... reading, outside the lock
    bool close_after_read_ = false;  // ... and the socket closes when it returns
    bool sent_fin_ = false;        // the local end hit EOF / shut down
    bool up_done_ = false;         // the fin frame was written
    bool acks_stopped_ = false;    // the peer finished the stream after our fin
    bool peer_finished_ = false;   // ... and had acknowledged our fin: nothing is owed
    bool local_closed_ = false;    // close_local() was called
    bool ended_ = false;
    bool end_pending_ = false;     // the carrier is finished once the write in flight returns
    bool end_ok_ = false;
    bool quiet_ = false;
    bool peer_gone_ = false;       // the peer ended the session (an error frame)
    bool throttled_[2] = {false, false};  // by rate_limit::direction: waiting for credit
    std::atomic<bool> ended_flag_{false};
    std::atomic<bool> detached_flag_{false};
};

}  // namespace burrow::stream
