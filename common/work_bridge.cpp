#include "common/work_bridge.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
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

// Smallest read buffer; reads are sized to what the socket holds, up to max_chunk.
constexpr std::size_t min_chunk = 16u << 10;
// Head and error frames are small; anything larger is not one of ours.
constexpr std::size_t max_head_frame = 16u << 10;
// Received frames waiting for the socket, counting the one being written.
constexpr std::size_t max_down_frames = 2;

grpc::ByteBuffer to_byte_buffer(const std::string& serialized) {
    grpc::Slice slice(serialized);
    return grpc::ByteBuffer(&slice, 1);
}
}  // namespace

work_bridge::work_bridge(executor ex)
    : strand_(asio::make_strand(ex)),
      socket_(strand_),
      in_(std::make_unique<grpc::ByteBuffer>()),
      out_(std::make_unique<grpc::ByteBuffer>()) {}

work_bridge::~work_bridge() = default;

// ---- reactions (gRPC threads) ----

void work_bridge::on_read_done(bool ok) {
    asio::dispatch(strand_, [self = shared_from_this(), ok] {
        self->reading_ = false;
        if (self->ended_) return;
        if (!ok) {
            if (self->mode_ != mode::pumping) return self->abort("");
            // Both fins crossed: the peer may finish before our fin's OnWriteDone.
            if (self->inbound_.finished() && self->sent_fin_) return;
            return self->abort("stream closed by the peer");
        }
        self->handle_frame();
    });
}

void work_bridge::on_write_done(bool ok) {
    asio::dispatch(strand_, [self = shared_from_this(), ok] {
        self->writing_ = false;
        self->out_->Clear();  // frees the payload: nothing is held while idle
        if (self->end_pending_) {
            // Ending: flush a queued error frame first, then end the RPC.
            if (ok && !self->queued_.empty()) return self->write_next();
            self->end_pending_ = false;
            return self->end_port(self->end_ok_);
        }
        if (self->ended_) return;
        if (!ok) return self->abort("stream write failed");
        if (self->out_fin_) {
            self->up_done_ = true;
            return self->finish_if_done();
        }
        if (!self->queued_.empty()) return self->write_next();
        if (self->ready_) {
            auto frame = std::move(self->ready_);
            self->send_frame(std::move(*frame), self->ready_fin_);
        }
        if (self->mode_ == mode::pumping) self->read_socket();
    });
}

// ---- owner API ----

void work_bridge::send_head(v1::Frame head) {
    asio::dispatch(strand_, [self = shared_from_this(), s = head.SerializeAsString()]() mutable {
        if (!self->ended_) self->write_or_queue(std::move(s));
    });
}

void work_bridge::read_head(head_handler on_head) {
    asio::dispatch(strand_, [self = shared_from_this(), h = std::move(on_head)]() mutable {
        if (self->ended_) return;
        self->mode_ = mode::head;
        self->on_head_ = std::move(h);
        self->issue_read();
    });
}

void work_bridge::watch_idle() {
    asio::dispatch(strand_, [self = shared_from_this()] {
        if (self->ended_ || self->mode_ == mode::pumping) return;
        self->mode_ = mode::idle;
        self->issue_read();
    });
}

void work_bridge::start(stream_socket socket, std::string tag, socket_handler on_unusable,
                        std::string already_read, bool quiet) {
    asio::dispatch(strand_, [self = shared_from_this(), s = std::move(socket),
                             tag = std::move(tag), h = std::move(on_unusable),
                             first = std::move(already_read), quiet]() mutable {
        if (self->ended_) {
            if (h) h(std::move(s));
            return;
        }
        // The socket may come from another executor (an acceptor's); rebind it
        // to our strand without touching the connection.
        error_code ec;
        auto protocol = s.local_endpoint(ec).protocol();
        if (!ec) self->socket_.assign(protocol, s.release(), ec);
        if (ec) return self->abort(fmt::format("socket unusable: {}", ec.message()));
        self->socket_.non_blocking(true, ec);
        self->tag_ = std::move(tag);
        self->quiet_ = quiet;
        self->started_at_ = std::chrono::steady_clock::now();
        self->mode_ = mode::pumping;
        self->issue_read();
        if (!first.empty()) {
            const auto head = frame_codec::encode_data_header(0, 0, false, first.size());
            grpc::Slice parts[2] = {grpc::Slice(head.buf.data(), head.size),
                                    grpc::Slice(first.data(), first.size())};
            self->sent_ = first.size();
            self->send_frame(grpc::ByteBuffer(parts, 2), false);
        }
        self->read_socket();
    });
}

void work_bridge::fail(std::string reason) {
    asio::dispatch(strand_, [self = shared_from_this(), reason = std::move(reason)] {
        if (self->ended_) return;
        v1::Frame f;
        f.set_error(reason);
        self->write_or_queue(f.SerializeAsString());
        // The peer finishes the RPC when it sees the error; we end once it is written.
        self->ended_ = true;
        self->ended_flag_ = true;
        self->end_pending_ = true;
        self->end_ok_ = true;
        error_code ignored;
        self->socket_.close(ignored);
    });
}

void work_bridge::close(std::string reason) {
    asio::dispatch(strand_, [self = shared_from_this(), reason = std::move(reason)] {
        self->abort(reason);
    });
}

// ---- stream -> socket ----

// After fin the read stays outstanding too: it returns when the RPC ends, so a
// peer that goes away while we still send is noticed.
void work_bridge::issue_read() {
    if (reading_ || ended_ || down_.size() >= max_down_frames) return;
    reading_ = true;
    port_->read(in_.get());
}

void work_bridge::handle_frame() {
    down_chunk chunk;
    in_->Dump(&chunk.slices);
    in_->Clear();
    std::vector<frame_codec::bytes> parts;
    parts.reserve(chunk.slices.size());
    for (const auto& sl : chunk.slices) parts.emplace_back(sl.begin(), sl.size());

    frame_codec::decoded f;
    if (auto err = frame_codec::decode(parts, f, max_frame_data); !err.empty())
        return abort("protocol error: " + err);

    if (f.has_head || f.has_error) {
        // Rare and small: let protobuf parse the whole frame.
        std::string raw;
        for (const auto& p : parts) raw.append(reinterpret_cast<const char*>(p.data()), p.size());
        v1::Frame frame;
        if (raw.size() > max_head_frame || !frame.ParseFromString(raw))
            return abort("protocol error: malformed frame");
        if (mode_ == mode::head) {
            if (!f.has_head) return abort("protocol error: first frame has no head");
            mode_ = mode::idle;
            auto h = std::move(on_head_);
            return h(frame);
        }
        if (f.has_head) return abort("protocol error: second head");
        return abort("peer: " + frame.error().substr(0, 200));
    }
    if (mode_ != mode::pumping) return abort("protocol error: data before start");
    if (auto err = inbound_.accept(f.offset, f.data_size, f.fin); !err.empty())
        return abort("protocol error: " + err);

    if (f.data_size == 0 && !f.fin) return issue_read();  // an ack-only frame
    chunk.fin = f.fin;
    chunk.size = f.data_size;
    chunk.buffers.reserve(f.data.size());
    for (const auto& d : f.data) chunk.buffers.emplace_back(d.data(), d.size());
    down_.push_back(std::move(chunk));
    if (!socket_writing_) write_socket_next();
    issue_read();  // read ahead while the socket drains
}

void work_bridge::write_socket_next() {
    if (down_.empty() || ended_) return;
    auto& chunk = down_.front();
    if (chunk.buffers.empty()) return on_socket_written({});
    socket_writing_ = true;
    // chunk.slices keep the payload alive until the write completes.
    asio::async_write(socket_, chunk.buffers,
                      asio::bind_executor(strand_, [self = shared_from_this()](
                                                       const error_code& ec, std::size_t) {
                          self->on_socket_written(ec);
                      }));
}

void work_bridge::on_socket_written(const error_code& ec) {
    socket_writing_ = false;
    if (ended_) return;
    if (ec) return socket_error("socket write", ec);
    const down_chunk done = std::move(down_.front());
    down_.erase(down_.begin());
    delivered_ += done.size;
    if (done.fin) {
        error_code ignored;
        socket_.shutdown(asio::socket_base::shutdown_send, ignored);
        down_done_ = true;
        finish_if_done();
    }
    write_socket_next();
    issue_read();
}

// ---- socket -> stream ----

void work_bridge::read_socket() {
    if (socket_waiting_ || sent_fin_ || ready_ || ended_) return;
    socket_waiting_ = true;
    socket_.async_wait(asio::socket_base::wait_read,
                       asio::bind_executor(strand_, [self = shared_from_this()](
                                                        const error_code& e) {
                           self->on_socket_readable(e);
                       }));
}

void work_bridge::on_socket_readable(const error_code& wait_ec) {
    socket_waiting_ = false;
    if (ended_) return;
    if (wait_ec) return socket_error("socket", wait_ec);

    // Read what the socket holds straight into a gRPC slice: uninitialised
    // memory, never copied again on our side, freed once gRPC has sent it.
    error_code ec;
    const std::size_t want = std::clamp<std::size_t>(socket_.available(ec), min_chunk, max_chunk);
    grpc::Slice buffer(grpc_slice_malloc(want), grpc::Slice::STEAL_REF);
    const std::size_t n = socket_.read_some(
        asio::buffer(const_cast<std::uint8_t*>(buffer.begin()), want), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return read_socket();
    if (ec && ec != asio::error::eof) return socket_error("socket read", ec);

    const bool eof = ec == asio::error::eof;
    const auto head = frame_codec::encode_data_header(sent_, delivered_, eof, n);
    grpc::Slice parts[2] = {grpc::Slice(head.buf.data(), head.size), buffer.sub(0, n)};
    sent_ += n;
    sent_fin_ = eof;
    send_frame(grpc::ByteBuffer(parts, n > 0 ? 2 : 1), eof);
    read_socket();  // read ahead while the frame is in flight (stops once one is ready)
}

void work_bridge::send_frame(grpc::ByteBuffer frame, bool fin) {
    if (writing_ || !queued_.empty()) {
        ready_ = std::make_unique<grpc::ByteBuffer>(std::move(frame));
        ready_fin_ = fin;
        return;
    }
    *out_ = std::move(frame);
    out_fin_ = fin;
    writing_ = true;
    port_->write(out_.get());
}

void work_bridge::write_or_queue(std::string serialized_frame) {
    queued_.push_back(std::move(serialized_frame));
    if (!writing_) write_next();
}

void work_bridge::write_next() {
    *out_ = to_byte_buffer(queued_.front());
    queued_.erase(queued_.begin());
    out_fin_ = false;
    writing_ = true;
    port_->write(out_.get());
}

// ---- ending ----

void work_bridge::finish_if_done() {
    if (up_done_ && down_done_) end(true);
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
