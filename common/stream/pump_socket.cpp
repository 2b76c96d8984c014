// The pump's socket end: the user's or the local service's TCP connection,
// read when it is readable and written right on the thread that has the
// bytes (docs/life_of_a_connection.md says why).
#include <unistd.h>

#include <algorithm>

#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include "common/net_util.hpp"
#include "common/stream/pump.hpp"
#include "common/stream/pump_locked.hpp"

namespace burrow::stream {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
// The first read after a wake-up; larger reads ask the socket what it holds.
constexpr std::size_t first_read = 16u << 10;

}  // namespace

bool pump::start(stream_socket& socket, std::string tag, std::string already_read,
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
    // Until this end closes in order (its fin, chunk_delivered), any close of
    // the socket, the kernel's too when the process is killed, resets the
    // connection: a transfer that did not complete never looks complete.
    if (!ec) {
        error_code ignored;
        socket_.set_option(asio::socket_base::linger(true, 0), ignored);
    }
    if (ec) {
        abort(fmt::format("socket unusable: {}", ec.message()));
        return true;
    }
    issue_read();
    if (!already_read.empty()) {
        const auto n = already_read.size();
        pieces first{chunk::copy_of({reinterpret_cast<const std::uint8_t*>(already_read.data()), n})};
        send_piece(take_piece(std::move(first), n, false));
    }
    read_socket();
    return true;
}

// ---- stream -> socket ----

void pump::write_socket_next() {
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

void pump::on_socket_written(const error_code& ec, std::size_t) {
    socket_writing_ = false;
    if (ended_) return;
    if (ec) return socket_error("socket write", ec);
    chunk_delivered();
    write_socket_next();
    issue_read();
}

// The front chunk reached the socket.
void pump::chunk_delivered() {
    const bool fin = down_.front().fin;
    ledger_.delivered(down_.front().size);
    if (meter_) meter_->add_out(down_.front().size);
    if (throttling()) charge(rate_limit::down, down_.front().size);
    down_.pop();
    if (fin) {
        error_code ignored;
        socket_.set_option(asio::socket_base::linger(false, 0), ignored);  // an orderly end now
        socket_.shutdown(asio::socket_base::shutdown_send, ignored);
        inbound_done();
        finish_if_done();
    }
    ack_if_due();
}

// ---- socket -> stream ----

void pump::read_socket() {
    if (local_ != local_kind::socket || socket_waiting_ || sent_fin_ || !room_for_piece() ||
        ended_ || throttled_[rate_limit::up])
        return;
    socket_waiting_ = true;
    // A wait, not a read: an idle connection holds no buffer.
    socket_.async_wait(asio::socket_base::wait_read,
                       [self = shared_from_this()](const error_code& ec) {
                           self->on_socket_readable(ec);
                       });
}

// The read itself runs outside the lock: the carrier's completions, which
// need the lock, do not wait for a copy of up to max_chunk bytes out of the
// kernel. Nothing else reads the socket meanwhile (socket_waiting_ stays set),
// and a close waits for the reader (close_socket), so the descriptor cannot be
// reused under it.
void pump::on_socket_readable(const error_code& wait_ec) {
    {
        locked lock(*this);
        if (ended_ || wait_ec) {
            socket_waiting_ = false;
            if (!ended_) socket_error("socket", wait_ec);
            return;
        }
        socket_reading_ = true;
    }
    // Read straight into chunks: uninitialised memory, never copied again on
    // our side. A first chunk of first_read bytes takes most reads whole
    // without asking the socket what it holds (FIONREAD); one that fills is
    // followed by the rest.
    pieces data;
    std::size_t size = 0;
    bool eof = false;
    error_code ec;
    for (std::size_t want = first_read; want > 0 && !eof;) {
        auto buffer = chunk::allocate(want);
        const std::size_t n = socket_.read_some(asio::buffer(buffer.writable(), want), ec);
        if (would_block(ec)) {
            ec = {};
            break;
        }
        if (ec && ec != asio::error::eof) break;
        eof = ec == asio::error::eof;
        if (n > 0) data.push_back(n == want ? std::move(buffer) : buffer.sub(0, n));
        size += n;
        if (n < want || data.size() == 2) break;
        error_code ignored;  // FIONREAD failing only ends this read
        want = std::min(socket_.available(ignored), max_chunk - size);
    }

    locked lock(*this);
    socket_waiting_ = socket_reading_ = false;
    if (close_after_read_) close_socket();
    if (ended_) return;
    if (ec && !eof) return socket_error("socket read", ec);
    if (size == 0 && !eof) return read_socket();  // woken for nothing
    if (throttling()) charge(rate_limit::up, size);
    sent_fin_ = eof;
    send_piece(take_piece(std::move(data), size, eof));
    read_socket();  // read ahead while the frame is in flight (stops once one is ready)
}

void pump::close_socket() {
    close_after_read_ = socket_reading_;
    if (close_after_read_) return;
    error_code ignored;
    socket_.close(ignored);
}

}  // namespace burrow::stream
