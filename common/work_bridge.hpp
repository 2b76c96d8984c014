// work_bridge: one local end <-> one gRPC Work stream of Frames. The local end
// is a stream socket (a user's TCP connection, a connection to a local
// service), or, for the HTTP vhost, the bridge itself: read_some/write_some
// hand bytes to an in-process reader and writer (see bridge_stream.hpp).
//
// The gRPC side is a thin reactor (server or client) implementing frame_port;
// its reactions call on_read_done/on_write_done from gRPC threads.
//
// Threads: all state is guarded by one mutex, and each event is handled on
// the thread it arrives on. A received frame is written to the socket right
// there in the gRPC reaction when the socket has room (it usually has), and
// a socket read is handed to gRPC from the Asio thread that saw it. Handing
// every event to a strand instead cost a thread wake-up per event, the
// largest single cost per request. The bridge calls the port under its lock:
// gRPC runs reactions on its own callback threads, never inside a Start*
// call, so that cannot re-enter. Callbacks into other code (the head
// handler, in-process completions) run after the lock is released.
//
// Data flows as two half-pumps, each pipelined one frame deep and bounded:
//   local -> stream: read what the socket holds (<= max_chunk) into a frame;
//                    while one frame is being written to the stream, the next
//                    one is read and waits; then the socket is left alone
//                    until the write completes, so a slow stream slows the
//                    socket reader (backpressure).
//   stream -> local: while one frame is being written to the socket, the next
//                    is read from the stream and waits; then reading stops
//                    and HTTP/2 flow control holds the peer.
// EOF on the local end sends fin; fin from the stream shuts down the local
// write side, so TCP half-close is kept end to end. When both directions have
// finished, or on any error, the bridge ends the RPC exactly once via
// frame_port::end(); after that it never touches the port again.
//
// Lifetime: the reactor holds a shared_ptr to the bridge; the bridge holds a
// raw frame_port* that stays valid until end() (reactors are deleted only in
// OnDone, which gRPC calls only after end()). Pending Asio operations and
// entry points keep the bridge alive through shared_from_this().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <array>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/container/small_vector.hpp>
#include <grpcpp/support/slice.h>

#include "common/frame_check.hpp"
#include "common/frame_codec.hpp"
#include "common/unique_function.hpp"

namespace burrow::v1 {
class Frame;
}
namespace grpc {
class ByteBuffer;
}

namespace burrow {

// The gRPC half of a Work stream, carrying raw (serialized) frames so that
// payloads are never copied (see frame_codec.hpp). One read and one write
// outstanding at most; end() is called exactly once. Calls are made under
// the bridge's lock, so an implementation must not call back synchronously.
class frame_port {
public:
    virtual void read(grpc::ByteBuffer* frame) = 0;
    virtual void write(const grpc::ByteBuffer* frame) = 0;
    // Makes outstanding operations complete (with ok = false) so end() can follow.
    virtual void cancel() = 0;
    virtual void end(bool ok) = 0;

protected:
    ~frame_port() = default;
};

class work_bridge : public std::enable_shared_from_this<work_bridge> {
public:
    using executor = boost::asio::any_io_executor;
    using error_code = boost::system::error_code;
    using head_handler = std::function<void(v1::Frame& head)>;
    using stream_socket = boost::asio::generic::stream_protocol::socket;
    using io_handler = unique_function<void(error_code, std::size_t)>;

    // `ex` runs the socket's operations.
    explicit work_bridge(executor ex);
    ~work_bridge();
    work_bridge(const work_bridge&) = delete;
    work_bridge& operator=(const work_bridge&) = delete;

    // Must be called once, before any other call, by the reactor that owns us.
    void attach(frame_port* port) { port_ = port; }

    // ---- reactions, from gRPC threads ----
    void on_read_done(bool ok);
    void on_write_done(bool ok);

    // ---- owner API; safe from any thread ----
    // Writes a head frame (hello/start) ahead of any data.
    void send_head(v1::Frame head);
    // Reads the first frame and passes it to `on_head` (outside the lock, on a
    // gRPC thread). A failed read ends the bridge.
    void read_head(head_handler on_head);
    // Keeps a read outstanding while idle: a frame before start() is a
    // protocol error, a failed read means the stream is gone.
    void watch_idle();
    // Starts pumping between `socket` and the stream; `already_read` (bytes
    // taken from the socket before, such as a TLS ClientHello) goes first.
    // Returns false, leaving `socket` as it is, when the bridge has already
    // ended. A `quiet` bridge logs its close at debug level (the HTTP vhost's
    // upstream connections: the requests are what matters).
    bool start(stream_socket& socket, std::string tag, std::string already_read = {},
               bool quiet = false);
    // Starts pumping between the in-process end and the stream. Returns false
    // when the bridge has already ended.
    bool start_local(std::string tag, bool quiet = false);
    // Tells the peer why this connection cannot be served, then ends.
    void fail(std::string reason);
    // Ends at once: closes the local end and the stream.
    void close(std::string reason);

    executor get_executor() const { return ex_; }
    // True on a thread that is running one of our gRPC reactions (and what it
    // completes): a completion from here may run inline on the reader's
    // strand; one caused by the owner's own call (close_local) must be posted,
    // or it would run nested inside that call.
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
    // while fewer than two frames wait for the stream; otherwise once one is
    // written (backpressure).
    io_result write_some(std::span<const boost::asio::const_buffer> from, io_handler* later);
    // Sends fin after what was written (TCP shutdown of the send side).
    void shutdown_send();
    // The owner is done with the connection: pending operations fail with
    // operation_aborted, fin goes out, the bridge ends when the peer's fin
    // arrives; data arriving after this resets the connection (as a closed
    // socket would).
    void close_local();
    // True when the in-process end is open, its peer has not closed it and
    // nothing unread waits: fit for another request.
    bool local_reusable();

private:
    enum class mode { head, idle, pumping };
    enum class local_kind { socket, in_process };

    // Inline storage for a frame's pieces (usually one): a heap allocation
    // per frame showed in profiles.
    template <class T>
    using few = boost::container::small_vector<T, 1>;

    // A received data frame on its way to the local end.
    struct down_chunk {
        std::vector<grpc::Slice> slices;                 // keep the payload alive
        std::vector<boost::asio::const_buffer> buffers;  // what is not delivered yet
        std::size_t size = 0;
        bool fin = false;
        // Empties it, keeping the vectors' capacity for the next frame.
        void clear() {
            slices.clear();
            buffers.clear();
            size = 0;
            fin = false;
        }
    };
    // Received frames waiting for the local end, each in its own slot for
    // its whole life: a chunk's buffers point into its slices, and gRPC keeps
    // payloads of up to 23 bytes inside the slice object itself, so a chunk
    // must never move. Slots keep their vectors' capacity: no allocation per
    // frame once a connection is under way.
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
            head_ = (head_ + 1) % capacity;
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
        std::size_t head_ = 0, count_ = 0;
    };
    // Bytes from the local end for the next data frame; the header (offset,
    // ack, fin) is encoded when the frame goes out, so the ack is current.
    struct up_piece {
        std::uint64_t offset = 0;
        bool fin = false;
        std::size_t size = 0;
        few<grpc::Slice> data;
    };
    static up_piece make_piece(std::uint64_t offset, grpc::Slice bytes, std::size_t n, bool fin);
    class locked;

    void begin_pumping(local_kind local, std::string tag, bool quiet);
    void issue_read();
    void handle_frame();
    void deliver();
    void write_socket_next();
    void on_socket_written(const error_code& ec, std::size_t n);
    void chunk_delivered();
    void deliver_local();
    void queue_fin();
    io_result take_down(boost::asio::mutable_buffer into);
    void after_take();

    void read_socket();
    void on_socket_readable(const error_code& ec);
    void send_piece(up_piece piece);
    bool room_for_piece() const { return !ready_; }
    void write_piece(up_piece piece);
    void write_or_queue(std::string serialized_frame);
    void write_next();
    void after_write();

    void finish_if_done();
    void socket_error(const char* what, const error_code& ec);
    void abort(const std::string& reason);
    void end(bool ok);
    void end_port(bool ok);
    void fail_local_ops(const error_code& ec);

    std::mutex mutex_;
    executor ex_;
    stream_socket socket_;
    local_kind local_ = local_kind::socket;
    frame_port* port_ = nullptr;
    head_handler on_head_;
    mode mode_ = mode::head;
    // Run by `locked` once the lock is released: the head handler's call and
    // the in-process end's completions (one read and one write at most).
    struct completion {
        io_handler handler;
        error_code ec;
        std::size_t n = 0;
    };
    unique_function<void()> head_due_;
    completion read_due_, write_due_;

    // stream -> local
    std::unique_ptr<grpc::ByteBuffer> in_;  // target of the outstanding stream read
    std::vector<frame_codec::bytes> parts_;  // in_'s slices, for the decoder (reused)
    frame_codec::decoded frame_;             // the frame being handled (reused)
    down_queue down_;  // received, not yet delivered
    bool reading_ = false;         // a stream read is outstanding
    bool socket_writing_ = false;  // down_.front() is being written to the socket
    bool down_done_ = false;       // fin delivered (socket write side shut / reader saw eof)
    std::uint64_t delivered_ = 0;  // bytes delivered to the local end (our ack)

    // local -> stream
    std::unique_ptr<grpc::ByteBuffer> out_;  // source of the outstanding stream write
    std::optional<up_piece> ready_;          // next data frame, read ahead
    bool out_fin_ = false;                   // the frame in flight carries fin
    std::vector<std::string> queued_;        // serialized head/error frames, first
    bool writing_ = false;                   // a stream write is outstanding
    bool socket_waiting_ = false;            // a socket wait is outstanding
    bool sent_fin_ = false;                  // the local end hit EOF / shut down
    bool up_done_ = false;                   // the fin frame was written
    std::uint64_t sent_ = 0;                 // bytes taken from the local end

    // The in-process end's pending operations.
    io_handler local_read_;
    boost::asio::mutable_buffer local_read_into_;
    io_handler local_write_;        // waits for room; its bytes are in held_
    std::optional<up_piece> held_;  // taken from the writer, waiting for room
    bool local_closed_ = false;     // close_local() was called

    bool ended_ = false;
    bool end_pending_ = false;  // end() waits for the outstanding write
    bool end_ok_ = false;
    std::atomic<bool> ended_flag_{false};

    inbound_stream inbound_;
    std::string tag_;
    bool quiet_ = false;
    std::chrono::steady_clock::time_point started_at_;
};

}  // namespace burrow
