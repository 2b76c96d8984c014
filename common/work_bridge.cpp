#include "common/work_bridge.hpp"

#include <unistd.h>

#include <algorithm>

#include <boost/asio/write.hpp>
#include <grpc/slice.h>
#include <grpcpp/support/byte_buffer.h>

#include "burrow.pb.h"
#include "common/frame_codec.hpp"
#include "common/log.hpp"
#include "common/net_util.hpp"

namespace burrow {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
spdlog::logger& work_log() {
    static spdlog::logger& l = log::get("work");
    return l;
}

// The first read after a wake-up; larger reads ask the socket what it holds.
constexpr std::size_t first_read = 16u << 10;
// Head and error frames are small; anything larger is not one of ours.
constexpr std::size_t max_head_frame = 16u << 10;

// Makes `target` hold these slices (ByteBuffer has no move assignment, and its
// copy assignment allocates).
void assign(grpc::ByteBuffer& target, const grpc::Slice* slices, std::size_t n) {
    grpc::ByteBuffer fresh(slices, n);
    target.Swap(&fresh);
}

// Drops the first `n` bytes of a buffer sequence.
template <class Buffers>
void consume(Buffers& buffers, std::size_t n) {
    auto it = buffers.begin();
    for (; it != buffers.end() && n >= it->size(); ++it) n -= it->size();
    if (it != buffers.end()) *it += n;
    buffers.erase(buffers.begin(), it);
}

thread_local bool reacting = false;

// Marks the thread as running a reaction, for as long as it lasts.
class reaction_scope {
public:
    reaction_scope() noexcept : outer_(std::exchange(reacting, true)) {}
    ~reaction_scope() { reacting = outer_; }
    reaction_scope(const reaction_scope&) = delete;
    reaction_scope& operator=(const reaction_scope&) = delete;

private:
    bool outer_;
};
}  // namespace

bool work_bridge::in_reaction() noexcept { return reacting; }

// Holds the bridge's lock; on leaving, releases it and then runs what became
// due meanwhile (head handler, in-process completions), so that those may
// call back into the bridge.
class work_bridge::locked {
public:
    explicit locked(work_bridge& b) : bridge_(b), lock_(b.mutex_) {}
    ~locked() {
        auto& b = bridge_;
        if (!b.head_due_ && !b.read_due_.handler && !b.write_due_.handler) return;
        auto head = std::move(b.head_due_);
        auto read = std::move(b.read_due_);
        auto write = std::move(b.write_due_);
        lock_.unlock();
        if (head) head();
        if (read.handler) read.handler(read.ec, read.n);
        if (write.handler) write.handler(write.ec, write.n);
    }
    locked(const locked&) = delete;
    locked& operator=(const locked&) = delete;

private:
    work_bridge& bridge_;
    std::unique_lock<std::mutex> lock_;
};

work_bridge::work_bridge(executor ex)
    : ex_(std::move(ex)),
      socket_(ex_),
      in_(std::make_unique<grpc::ByteBuffer>()),
      out_(std::make_unique<grpc::ByteBuffer>()) {}

work_bridge::~work_bridge() = default;

// ---- reactions (gRPC threads) ----

// No shared_from_this() in the reactions: gRPC calls OnDone (which drops the
// reactor's reference) only after every reaction has returned.
void work_bridge::on_read_done(bool ok) {
    reaction_scope reaction;  // outlives `lock`, whose release runs completions
    locked lock(*this);
    reading_ = false;
    if (ended_) return;
    if (!ok) {
        if (mode_ != mode::pumping) return abort("");
        // Both fins crossed: the peer may finish before our fin's OnWriteDone.
        if (inbound_.finished() && sent_fin_) return;
        return abort("stream closed by the peer");
    }
    handle_frame();
}

void work_bridge::on_write_done(bool ok) {
    reaction_scope reaction;
    locked lock(*this);
    writing_ = false;
    out_->Clear();  // frees the payload: nothing is held while idle
    if (end_pending_) {
        // Ending: flush a queued error frame first, then end the RPC.
        if (ok && !queued_.empty()) return write_next();
        end_pending_ = false;
        return end_port(end_ok_);
    }
    if (ended_) return;
    if (!ok) return abort("stream write failed");
    if (out_fin_) {
        up_done_ = true;
        return finish_if_done();
    }
    after_write();
}

// ---- owner API ----

void work_bridge::send_head(v1::Frame head) {
    auto self = shared_from_this();
    locked lock(*this);
    if (!ended_) write_or_queue(head.SerializeAsString());
}

void work_bridge::read_head(head_handler on_head) {
    auto self = shared_from_this();
    locked lock(*this);
    if (ended_) return;
    mode_ = mode::head;
    on_head_ = std::move(on_head);
    issue_read();
}

void work_bridge::watch_idle() {
    auto self = shared_from_this();
    locked lock(*this);
    if (ended_ || mode_ == mode::pumping) return;
    mode_ = mode::idle;
    issue_read();
}

bool work_bridge::start(stream_socket& socket, std::string tag, std::string already_read,
                        bool quiet) {
    auto self = shared_from_this();
    locked lock(*this);
    if (ended_) return false;
    begin_pumping(local_kind::socket, std::move(tag), quiet);
    // The socket may come from another executor (an acceptor's); rebind it
    // to ours without touching the connection.
    error_code ec;
    const auto protocol = socket.local_endpoint(ec).protocol();
    if (!ec) {
        const int fd = socket.release(ec);
        if (!ec) {
            socket_.assign(protocol, fd, ec);
            if (ec) ::close(fd);
        }
    }
    if (!ec) socket_.non_blocking(true, ec);
    if (ec) {
        abort(fmt::format("socket unusable: {}", ec.message()));
        return true;
    }
    issue_read();
    if (!already_read.empty()) {
        sent_ = already_read.size();
        send_piece(make_piece(0, grpc::Slice(already_read), already_read.size(), false));
    }
    read_socket();
    return true;
}

bool work_bridge::start_local(std::string tag, bool quiet) {
    auto self = shared_from_this();
    locked lock(*this);
    if (ended_) return false;
    begin_pumping(local_kind::in_process, std::move(tag), quiet);
    issue_read();
    return true;
}

void work_bridge::begin_pumping(local_kind local, std::string tag, bool quiet) {
    local_ = local;
    tag_ = std::move(tag);
    quiet_ = quiet;
    started_at_ = std::chrono::steady_clock::now();
    mode_ = mode::pumping;
}

void work_bridge::fail(std::string reason) {
    auto self = shared_from_this();
    locked lock(*this);
    if (ended_) return;
    v1::Frame f;
    f.set_error(reason);
    write_or_queue(f.SerializeAsString());
    // The peer finishes the RPC when it sees the error; we end once it is written.
    ended_ = true;
    ended_flag_ = true;
    end_pending_ = true;
    end_ok_ = true;
    fail_local_ops(asio::error::connection_reset);
    error_code ignored;
    socket_.close(ignored);
}

void work_bridge::close(std::string reason) {
    auto self = shared_from_this();
    locked lock(*this);
    abort(reason);
}

// ---- stream -> local ----

// After fin the read stays outstanding too: it returns when the RPC ends, so a
// peer that goes away while we still send is noticed.
void work_bridge::issue_read() {
    if (reading_ || ended_ || down_.full()) return;
    reading_ = true;
    port_->read(in_.get());
}

void work_bridge::handle_frame() {
    // Decoded in the slot it will wait in (see down_queue); emptied again
    // unless the frame is data kept for the local end.
    auto& chunk = down_.back_slot();
    struct slot_guard {
        down_chunk& slot;
        bool keep = false;
        ~slot_guard() {
            if (!keep) slot.clear();
        }
    } guard{chunk};
    if (grpc::Slice single; in_->TrySingleSlice(&single).ok()) {
        chunk.slices.push_back(std::move(single));
    } else {
        std::vector<grpc::Slice> all;
        in_->Dump(&all);
        for (auto& sl : all) chunk.slices.push_back(std::move(sl));
    }
    in_->Clear();
    parts_.clear();
    for (const auto& sl : chunk.slices) parts_.emplace_back(sl.begin(), sl.size());

    auto& f = frame_;
    if (auto err = frame_codec::decode(parts_, f, max_frame_data); !err.empty())
        return abort("protocol error: " + err);

    if (f.has_head || f.has_error) {
        // Rare and small: let protobuf parse the whole frame.
        std::string raw;
        for (const auto& p : parts_) raw.append(reinterpret_cast<const char*>(p.data()), p.size());
        v1::Frame frame;
        if (raw.size() > max_head_frame || !frame.ParseFromString(raw))
            return abort("protocol error: malformed frame");
        if (mode_ == mode::head) {
            if (!f.has_head) return abort("protocol error: first frame has no head");
            mode_ = mode::idle;
            head_due_ = [h = std::move(on_head_), frame = std::move(frame)]() mutable { h(frame); };
            return;
        }
        if (f.has_head) return abort("protocol error: second head");
        return abort("peer: " + frame.error().substr(0, 200));
    }
    if (mode_ != mode::pumping) return abort("protocol error: data before start");
    if (auto err = inbound_.accept(f.offset, f.data_size, f.fin); !err.empty())
        return abort("protocol error: " + err);

    if (local_closed_) {
        // Bytes for an end that was closed reset the connection, as they
        // would for a closed socket; fin is what we wait for.
        if (f.data_size > 0) return abort("");
        if (f.fin) down_done_ = true;
        finish_if_done();
        return issue_read();
    }
    if (f.data_size == 0 && !f.fin) return issue_read();  // an ack-only frame
    chunk.fin = f.fin;
    chunk.size = f.data_size;
    chunk.buffers.reserve(f.data.size());
    for (const auto& d : f.data) chunk.buffers.emplace_back(d.data(), d.size());
    guard.keep = true;
    down_.push();
    deliver();
    issue_read();  // read ahead while the local end drains
}

void work_bridge::deliver() {
    if (local_ == local_kind::socket)
        write_socket_next();
    else
        deliver_local();
}

void work_bridge::write_socket_next() {
    while (!socket_writing_ && !down_.empty() && !ended_) {
        auto& chunk = down_.front();
        if (!chunk.buffers.empty()) {
            // Right here, without a hand-off to an Asio thread: the socket
            // usually has room for the whole frame.
            error_code ec;
            const std::size_t n = socket_.write_some(chunk.buffers, ec);
            if (ec && !would_block(ec)) return socket_error("socket write", ec);
            consume(chunk.buffers, n);
        }
        if (!chunk.buffers.empty()) {
            // chunk.slices keep the payload alive until the write completes.
            socket_writing_ = true;
            asio::async_write(socket_, chunk.buffers,
                              [self = shared_from_this()](const error_code& ec, std::size_t n) {
                                  locked lock(*self);
                                  self->on_socket_written(ec, n);
                              });
            return;
        }
        chunk_delivered();
    }
}

void work_bridge::on_socket_written(const error_code& ec, std::size_t) {
    socket_writing_ = false;
    if (ended_) return;
    if (ec) return socket_error("socket write", ec);
    chunk_delivered();
    write_socket_next();
    issue_read();
}

// The front chunk reached the socket.
void work_bridge::chunk_delivered() {
    const bool fin = down_.front().fin;
    delivered_ += down_.front().size;
    down_.pop();
    if (fin) {
        error_code ignored;
        socket_.shutdown(asio::socket_base::shutdown_send, ignored);
        down_done_ = true;
        finish_if_done();
    }
}

// ---- the in-process end ----

void work_bridge::deliver_local() {
    if (!local_read_ || down_.empty()) return;
    const auto r = take_down(local_read_into_);
    read_due_ = {std::move(local_read_), r.ec, r.n};
    after_take();
}

// Moves bytes of the front chunk into `into`; eof once the reader reaches fin.
work_bridge::io_result work_bridge::take_down(asio::mutable_buffer into) {
    io_result r{true, {}, 0};
    auto& chunk = down_.front();
    r.n = asio::buffer_copy(into, chunk.buffers);
    consume(chunk.buffers, r.n);
    delivered_ += r.n;
    if (chunk.buffers.empty()) {
        const bool fin = chunk.fin;
        down_.pop();
        if (fin) {
            down_done_ = true;
            if (r.n == 0) r.ec = asio::error::eof;
        }
    }
    return r;
}

void work_bridge::after_take() {
    if (down_done_) finish_if_done();
    issue_read();
}

work_bridge::io_result work_bridge::read_some(asio::mutable_buffer into, io_handler* later) {
    auto self = shared_from_this();
    locked lock(*this);
    if (local_ != local_kind::in_process || local_read_)
        return {true, asio::error::invalid_argument, 0};
    if (local_closed_) return {true, asio::error::operation_aborted, 0};
    if (into.size() == 0) return {true, {}, 0};
    if (down_.empty()) {
        if (down_done_) return {true, asio::error::eof, 0};
        if (ended_) return {true, asio::error::connection_reset, 0};
        if (!later) return {true, asio::error::would_block, 0};
        local_read_ = std::move(*later);
        local_read_into_ = into;
        return {};
    }
    const auto r = take_down(into);
    after_take();
    return r;
}

work_bridge::io_result work_bridge::write_some(std::span<const asio::const_buffer> from,
                                               io_handler* later) {
    auto self = shared_from_this();
    locked lock(*this);
    if (local_ != local_kind::in_process || local_write_)
        return {true, asio::error::invalid_argument, 0};
    if (local_closed_) return {true, asio::error::operation_aborted, 0};
    if (ended_) return {true, asio::error::connection_reset, 0};
    if (sent_fin_) return {true, asio::error::broken_pipe, 0};
    std::size_t total = 0;
    for (const auto& b : from) total += b.size();
    const std::size_t n = std::min(total, max_chunk);
    if (n == 0) return {true, {}, 0};
    if (!room_for_piece() && !later) return {true, asio::error::would_block, 0};

    grpc::Slice bytes(grpc_slice_malloc(n), grpc::Slice::STEAL_REF);
    asio::buffer_copy(asio::buffer(const_cast<std::uint8_t*>(bytes.begin()), n), from);
    auto piece = make_piece(sent_, std::move(bytes), n, false);
    sent_ += n;
    if (room_for_piece()) {
        send_piece(std::move(piece));
        return {true, {}, n};
    }
    // Two frames wait already: the writer waits for the stream (backpressure).
    held_ = std::move(piece);
    local_write_ = std::move(*later);
    return {};
}

void work_bridge::shutdown_send() {
    auto self = shared_from_this();
    locked lock(*this);
    if (local_ != local_kind::in_process || ended_ || sent_fin_) return;
    queue_fin();
}

// fin rides on the last frame still waiting, or goes alone.
void work_bridge::queue_fin() {
    sent_fin_ = true;
    if (held_)
        held_->fin = true;
    else if (ready_)
        ready_->fin = true;
    else
        send_piece(make_piece(sent_, {}, 0, true));
}

void work_bridge::close_local() {
    auto self = shared_from_this();
    locked lock(*this);
    if (local_ != local_kind::in_process || local_closed_) return;
    local_closed_ = true;
    // What the writer was still waiting to send was never reported written.
    held_.reset();
    fail_local_ops(asio::error::operation_aborted);
    if (ended_) return;
    // Unread input would reset a socket on close; so it does here.
    if (down_.has_bytes()) return abort("");
    if (!down_.empty()) down_done_ = true;  // only the peer's fin was unread
    down_.clear();
    if (!sent_fin_) queue_fin();
    if (inbound_.finished()) down_done_ = true;
    finish_if_done();
}

bool work_bridge::local_reusable() {
    auto self = shared_from_this();
    locked lock(*this);
    return local_ == local_kind::in_process && !ended_ && !local_closed_ && !sent_fin_ &&
           down_.empty() && !inbound_.finished();
}

void work_bridge::fail_local_ops(const error_code& ec) {
    if (local_read_) read_due_ = {std::move(local_read_), ec, 0};
    if (local_write_) {
        held_.reset();
        write_due_ = {std::move(local_write_), ec, 0};
    }
}


// ---- local -> stream ----

void work_bridge::read_socket() {
    if (local_ != local_kind::socket || socket_waiting_ || sent_fin_ || ready_ || ended_) return;
    socket_waiting_ = true;
    // A wait, not a read: an idle connection holds no buffer.
    socket_.async_wait(asio::socket_base::wait_read,
                       [self = shared_from_this()](const error_code& ec) {
                           locked lock(*self);
                           self->on_socket_readable(ec);
                       });
}

void work_bridge::on_socket_readable(const error_code& wait_ec) {
    socket_waiting_ = false;
    if (ended_) return;
    if (wait_ec) return socket_error("socket", wait_ec);

    // Read straight into gRPC slices: uninitialised memory, never copied
    // again on our side, freed once gRPC has sent it. A first slice of
    // first_read bytes takes most reads whole without asking the socket
    // what it holds (FIONREAD); one that fills is followed by the rest.
    up_piece piece;
    piece.offset = sent_;
    bool eof = false;
    for (std::size_t want = first_read; want > 0 && !eof;) {
        grpc::Slice buffer(grpc_slice_malloc(want), grpc::Slice::STEAL_REF);
        error_code ec;
        const std::size_t n = socket_.read_some(
            asio::buffer(const_cast<std::uint8_t*>(buffer.begin()), want), ec);
        if (would_block(ec)) break;
        if (ec && ec != asio::error::eof) return socket_error("socket read", ec);
        eof = ec == asio::error::eof;
        if (n > 0) piece.data.push_back(buffer.sub(0, n));
        piece.size += n;
        if (n < want || piece.data.size() == 2) break;
        want = std::min(socket_.available(ec), max_chunk - piece.size);
        if (ec) break;
    }
    if (piece.size == 0 && !eof) return read_socket();  // woken for nothing
    piece.fin = eof;
    sent_ += piece.size;
    sent_fin_ = eof;
    send_piece(std::move(piece));
    read_socket();  // read ahead while the frame is in flight (stops once one is ready)
}

work_bridge::up_piece work_bridge::make_piece(std::uint64_t offset, grpc::Slice bytes,
                                              std::size_t n, bool fin) {
    up_piece piece;
    piece.offset = offset;
    piece.fin = fin;
    piece.size = n;
    if (n > 0) piece.data.push_back(std::move(bytes));
    return piece;
}

// The piece goes out now, or waits as the next one (callers check room_for_piece()).
void work_bridge::send_piece(up_piece piece) {
    if (writing_ || !queued_.empty()) {
        ready_ = std::move(piece);
        return;
    }
    write_piece(std::move(piece));
}

void work_bridge::write_piece(up_piece piece) {
    const auto head = frame_codec::encode_data_header(piece.offset, delivered_, piece.fin,
                                                      piece.size);
    few<grpc::Slice> parts;
    parts.emplace_back(head.buf.data(), head.size);
    for (auto& d : piece.data) parts.push_back(std::move(d));
    assign(*out_, parts.data(), parts.size());
    out_fin_ = piece.fin;
    writing_ = true;
    port_->write(out_.get());
}

// The stream took a frame: send the next one, and let the local end refill.
void work_bridge::after_write() {
    if (!queued_.empty()) return write_next();
    if (ready_) {
        auto next = std::move(*ready_);
        ready_.reset();
        write_piece(std::move(next));
    }
    if (mode_ != mode::pumping) return;
    if (local_ == local_kind::socket) return read_socket();
    if (held_) {
        ready_ = std::move(held_);
        held_.reset();
        write_due_ = {std::move(local_write_), {}, ready_->size};
    }
}

void work_bridge::write_or_queue(std::string serialized_frame) {
    queued_.push_back(std::move(serialized_frame));
    if (!writing_) write_next();
}

void work_bridge::write_next() {
    const grpc::Slice frame(queued_.front());
    assign(*out_, &frame, 1);
    queued_.erase(queued_.begin());
    out_fin_ = false;
    writing_ = true;
    port_->write(out_.get());
}

// ---- ending ----

void work_bridge::finish_if_done() {
    if (up_done_ && down_done_ && !ended_) end(true);
}

// A reset or broken pipe is how TCP connections often end (iperf3, browsers):
// worth a debug line, not an "aborted" one among real failures.
void work_bridge::socket_error(const char* what, const error_code& ec) {
    if (ended_) return;
    if (is_expected_error(ec)) {
        work_log().debug("{} {}: {}", tag_, what, ec.message());
        return end(false);
    }
    abort(fmt::format("{}: {}", what, ec.message()));
}

void work_bridge::abort(const std::string& reason) {
    if (ended_) return;
    if (!reason.empty() && mode_ == mode::pumping)
        work_log().info("{} aborted: {}", tag_, reason);
    else if (!reason.empty())
        work_log().debug("idle work stream ended: {}", reason);
    end(false);
}

void work_bridge::end(bool ok) {
    if (!ended_ && mode_ == mode::pumping) {
        auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at_);
        work_log().log(quiet_ ? spdlog::level::debug : spdlog::level::info,
                       "{} closed: in {} B, out {} B, {:.2f} s", tag_, sent_, delivered_,
                       secs.count());
    }
    ended_ = true;
    ended_flag_ = true;
    queued_.clear();
    ready_.reset();
    held_.reset();
    fail_local_ops(local_closed_ ? asio::error::operation_aborted
                                 : asio::error::connection_reset);
    error_code ignored;
    socket_.close(ignored);
    // A server reactor may not Finish with a write outstanding: wait for it,
    // cancelling the stream on an abort so that a stuck write returns.
    if (writing_) {
        end_pending_ = true;
        end_ok_ = ok;
        if (!ok && port_) port_->cancel();
        return;
    }
    end_port(ok);
}

void work_bridge::end_port(bool ok) {
    if (auto* p = std::exchange(port_, nullptr)) p->end(ok);
}

}  // namespace burrow
