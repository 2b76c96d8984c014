// work_bridge: one stream socket <-> one gRPC Work stream of Frames. The socket
// is a user's TCP connection, or one end of a socketpair whose other end the
// HTTP vhost speaks HTTP on.
//
// The gRPC side is a thin reactor (server or client) implementing frame_port;
// its reactions call on_read_done/on_write_done from gRPC threads, and the
// bridge hands them to its strand, where all of its state lives.
//
// Data flows as two half-pumps, each pipelined one frame deep and bounded:
//   socket -> stream: read what the socket holds (<= max_chunk) into a frame;
//                     while one frame is being written to the stream, the next
//                     one is read and waits; then the socket is left alone
//                     until the write completes, so a slow stream slows the
//                     socket reader (backpressure).
//   stream -> socket: while one frame is being written to the socket, the next
//                     is read from the stream and waits; then reading stops
//                     and HTTP/2 flow control holds the peer.
// EOF on the socket sends fin; fin from the stream shuts down the socket's
// write side, so TCP half-close is kept end to end. When both directions have
// finished, or on any error, the bridge ends the RPC exactly once via
// frame_port::end(); after that it never touches the port again.
//
// Lifetime: the reactor holds a shared_ptr to the bridge; the bridge holds a
// raw frame_port* that stays valid until end() (reactors are deleted only in
// OnDone, which gRPC calls only after end()). Pending Asio operations keep the
// bridge alive through shared_from_this().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/strand.hpp>

#include "common/frame_check.hpp"

namespace burrow::v1 {
class Frame;
}
namespace grpc {
class ByteBuffer;
class Slice;
}

namespace burrow {

// The gRPC half of a Work stream, carrying raw (serialized) frames so that
// payloads are never copied (see frame_codec.hpp). Calls come from the
// bridge's strand, one read and one write outstanding at most; end() is
// called exactly once.
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
    using head_handler = std::function<void(v1::Frame& head)>;
    using stream_socket = boost::asio::generic::stream_protocol::socket;
    using socket_handler = std::function<void(stream_socket)>;

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
    // Reads the first frame and passes it to `on_head` on the strand. A failed
    // read ends the bridge.
    void read_head(head_handler on_head);
    // Keeps a read outstanding while idle: a frame before start() is a
    // protocol error, a failed read means the stream is gone.
    void watch_idle();
    // Starts pumping between `socket` and the stream; `already_read` (bytes
    // taken from the socket before, such as a TLS ClientHello) goes first.
    // When the bridge has already ended, `socket` is handed back through
    // `on_unusable` instead. A `quiet` bridge logs its close at debug level
    // (the HTTP vhost's upstream connections: the requests are what matters).
    void start(stream_socket socket, std::string tag, socket_handler on_unusable = {},
               std::string already_read = {}, bool quiet = false);
    // Tells the peer why this connection cannot be served, then ends.
    void fail(std::string reason);
    // Ends at once: closes the socket and the stream.
    void close(std::string reason);

    executor get_executor() const { return strand_; }
    // Relaxed view for pools deciding whether the stream is worth handing out.
    bool ended() const noexcept { return ended_flag_.load(std::memory_order_relaxed); }

private:
    enum class mode { head, idle, pumping };

    // A received data frame on its way to the socket.
    struct down_chunk {
        std::vector<grpc::Slice> slices;  // keep the payload alive
        std::vector<boost::asio::const_buffer> buffers;
        std::size_t size = 0;
        bool fin = false;
    };

    void issue_read();
    void handle_frame();
    void write_socket_next();
    void on_socket_written(const boost::system::error_code& ec);

    void read_socket();
    void on_socket_readable(const boost::system::error_code& ec);
    void send_frame(grpc::ByteBuffer frame, bool fin);
    void write_or_queue(std::string serialized_frame);
    void write_next();

    void finish_if_done();
    void socket_error(const char* what, const boost::system::error_code& ec);
    void abort(const std::string& reason);
    void end(bool ok);
    void end_port(bool ok);

    boost::asio::strand<executor> strand_;
    stream_socket socket_;
    frame_port* port_ = nullptr;
    head_handler on_head_;
    mode mode_ = mode::head;

    // stream -> socket
    std::unique_ptr<grpc::ByteBuffer> in_;  // target of the outstanding stream read
    // Received, not yet written (<= 2). Vectors, not deques: an empty deque
    // already costs ~600 bytes, and there are thousands of bridges.
    std::vector<down_chunk> down_;
    bool reading_ = false;                  // a stream read is outstanding
    bool socket_writing_ = false;           // down_.front() is being written
    bool down_done_ = false;                // fin received and socket write side shut
    std::uint64_t delivered_ = 0;           // bytes written to the socket (our ack)

    // socket -> stream
    std::unique_ptr<grpc::ByteBuffer> out_;    // source of the outstanding stream write
    std::unique_ptr<grpc::ByteBuffer> ready_;  // next data frame, read ahead
    bool ready_fin_ = false;
    bool out_fin_ = false;                     // the frame in flight carries fin
    std::vector<std::string> queued_;          // serialized head/error frames, first
    bool writing_ = false;                     // a stream write is outstanding
    bool socket_waiting_ = false;              // a socket wait is outstanding
    bool sent_fin_ = false;                    // the socket hit EOF
    bool up_done_ = false;                     // the fin frame was written
    std::uint64_t sent_ = 0;                   // bytes read from the socket

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
