// The pump's in-process end: read_some / write_some for an in-process
// reader and writer (local_stream.hpp), instead of a socket.
#include <algorithm>

#include "common/stream/pump.hpp"
#include "common/stream/pump_locked.hpp"

namespace burrow::stream {

namespace asio = boost::asio;

void pump::deliver_local() {
    auto& local = *in_process();
    if (!local.read || down_.empty()) return;
    const auto r = take_down(local.read_into);
    local.read_due = {std::move(local.read), r.ec, r.n};
    after_take();
}

// Moves bytes of the front chunk into `into`; eof once the reader reaches fin.
pump::io_result pump::take_down(asio::mutable_buffer into) {
    io_result r{true, {}, 0};
    auto& chunk = down_.front();
    r.n = asio::buffer_copy(into, chunk.buffers);
    consume(chunk.buffers, r.n);
    ledger_.delivered(r.n);
    if (meter_) meter_->add_out(r.n);
    if (chunk.buffers.empty()) {
        const bool fin = chunk.fin;
        down_.pop();
        if (fin) {
            inbound_done();
            if (r.n == 0) r.ec = asio::error::eof;
        }
    }
    return r;
}

void pump::after_take() {
    if (down_done_) finish_if_done();
    issue_read();
    ack_if_due();
}

pump::io_result pump::read_some(asio::mutable_buffer into, io_handler* later) {
    auto self = shared_from_this();
    locked lock(*this);
    if (local_ != local_kind::in_process || in_process()->read)
        return {true, asio::error::invalid_argument, 0};
    if (local_closed_) return {true, asio::error::operation_aborted, 0};
    if (into.size() == 0) return {true, {}, 0};
    if (down_.empty()) {
        if (down_done_) return {true, asio::error::eof, 0};
        if (ended_) return {true, asio::error::connection_reset, 0};
        if (!later) return {true, asio::error::would_block, 0};
        in_process()->read = std::move(*later);
        in_process()->read_into = into;
        return {};
    }
    const auto r = take_down(into);
    after_take();
    return r;
}

pump::io_result pump::write_some(std::span<const asio::const_buffer> from,
                                               io_handler* later) {
    auto self = shared_from_this();
    locked lock(*this);
    if (local_ != local_kind::in_process || in_process()->write)
        return {true, asio::error::invalid_argument, 0};
    if (local_closed_) return {true, asio::error::operation_aborted, 0};
    if (ended_) return {true, asio::error::connection_reset, 0};
    if (sent_fin_) return {true, asio::error::broken_pipe, 0};
    std::size_t total = 0;
    for (const auto& b : from) total += b.size();
    const std::size_t n = std::min(total, max_chunk);
    if (n == 0) return {true, {}, 0};
    if (!room_for_piece() && !later) return {true, asio::error::would_block, 0};

    auto bytes = chunk::allocate(n);
    asio::buffer_copy(asio::buffer(bytes.writable(), n), from);
    auto piece = take_piece(pieces{std::move(bytes)}, n, false);
    if (room_for_piece()) {
        send_piece(std::move(piece));
        return {true, {}, n};
    }
    // Two frames wait already: the writer waits for the stream (backpressure).
    in_process()->held = std::move(piece);
    in_process()->write = std::move(*later);
    return {};
}

void pump::shutdown_send() {
    auto self = shared_from_this();
    locked lock(*this);
    if (local_ != local_kind::in_process || ended_ || sent_fin_) return;
    queue_fin();
}

// fin rides on the last frame still waiting, or goes alone.
void pump::queue_fin() {
    sent_fin_ = true;
    ledger_.sent_fin();
    if (auto& held = in_process()->held)
        held->fin = true;
    else if (ready_)
        ready_->fin = true;
    else
        send_piece(take_piece({}, 0, true));
}

void pump::close_local() {
    auto self = shared_from_this();
    locked lock(*this);
    if (local_ != local_kind::in_process || local_closed_) return;
    local_closed_ = true;
    // What the writer was still waiting to send was never reported written.
    in_process()->held.reset();
    fail_local_ops(asio::error::operation_aborted);
    if (ended_) return;
    // Unread input would reset a socket on close; so it does here.
    if (down_.has_bytes()) return abort("");
    if (!down_.empty()) inbound_done();  // only the peer's fin was unread
    down_.clear();
    if (!sent_fin_) queue_fin();
    if (ledger_.inbound_finished()) inbound_done();
    finish_if_done();
}

bool pump::local_reusable() {
    auto self = shared_from_this();
    locked lock(*this);
    return local_ == local_kind::in_process && !ended_ && !local_closed_ && !sent_fin_ &&
           down_.empty() && !ledger_.inbound_finished();
}

void pump::fail_local_ops(const error_code& ec) {
    if (!in_process()) return;
    auto& local = *in_process();
    if (local.read) local.read_due = {std::move(local.read), ec, 0};
    if (local.write) {
        local.held.reset();
        local.write_due = {std::move(local.write), ec, 0};
    }
}

}  // namespace burrow::stream
