// local_stream: an Asio stream (AsyncReadStream + AsyncWriteStream) over a
// pump's in-process end. The HTTP vhost speaks HTTP/1.1 to a local
// service through it with Beast, as it would over a socket, while the bytes
// go straight into Work-stream frames: no socketpair, no extra syscalls, no
// hand-off between threads beyond the one that delivers a completion.
//
// Completions run on the handler's associated executor (the connection's
// strand); an operation that can complete at once is posted, never run
// inside its initiating call. One read and one write may be outstanding.
// Not thread-safe itself: use it from one strand, like a socket.
#pragma once

#include <memory>
#include <span>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/container/small_vector.hpp>
#include <boost/system/system_error.hpp>

#include "common/stream/pump.hpp"

namespace burrow::stream {

class local_stream {
public:
    using executor_type = boost::asio::any_io_executor;
    using error_code = boost::system::error_code;

    // `p` has been started with start_local(); `ex` is the user's strand.
    local_stream(std::shared_ptr<pump> p, executor_type ex)
        : pump_(std::move(p)), ex_(std::move(ex)) {}
    ~local_stream() { close(); }
    local_stream(local_stream&& other) noexcept = default;
    local_stream& operator=(local_stream&&) = delete;

    executor_type get_executor() const noexcept { return ex_; }

    template <class MutableBufferSequence, class ReadToken>
    auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
        return initiate(token, [into = first_of(buffers)](pump& b, auto* later) {
            return b.read_some(into, later);
        });
    }

    template <class ConstBufferSequence, class WriteToken>
    auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
        return initiate(token, [from = all_of(buffers)](pump& b, auto* later) {
            return b.write_some(span_of(from), later);
        });
    }

    // Non-blocking, like a socket in non-blocking mode: would_block when the
    // operation would have to wait (SyncReadStream / SyncWriteStream).
    template <class MutableBufferSequence>
    std::size_t read_some(const MutableBufferSequence& buffers, error_code& ec) {
        const auto r = pump_ ? pump_->read_some(first_of(buffers), nullptr) : closed();
        ec = r.ec;
        return r.n;
    }
    template <class ConstBufferSequence>
    std::size_t write_some(const ConstBufferSequence& buffers, error_code& ec) {
        const auto r = pump_ ? pump_->write_some(span_of(all_of(buffers)), nullptr) : closed();
        ec = r.ec;
        return r.n;
    }
    template <class MutableBufferSequence>
    std::size_t read_some(const MutableBufferSequence& buffers) {
        error_code ec;
        return or_throw(read_some(buffers, ec), ec);
    }
    template <class ConstBufferSequence>
    std::size_t write_some(const ConstBufferSequence& buffers) {
        error_code ec;
        return or_throw(write_some(buffers, ec), ec);
    }

    // Only shutdown_send has a meaning here: fin after what was written.
    void shutdown(boost::asio::socket_base::shutdown_type what, error_code& ec) {
        ec = {};
        if (!pump_) ec = boost::asio::error::bad_descriptor;
        else if (what != boost::asio::socket_base::shutdown_receive) pump_->shutdown_send();
    }
    // Pending operations fail with operation_aborted; see pump::close_local().
    void close(error_code& ec) {
        ec = {};
        close();
    }
    void close() {
        if (auto b = std::exchange(pump_, nullptr)) b->close_local();
    }
    bool is_open() const noexcept { return pump_ != nullptr; }
    // Open, not closed by the service, nothing unread: fit for another request.
    bool reusable() const { return pump_ && pump_->local_reusable(); }
    // Hands the pump over (to a pool of idle upstreams); the stream is closed after.
    std::shared_ptr<pump> release() noexcept { return std::exchange(pump_, nullptr); }

private:
    // One buffer is enough for a read: a short read is a read.
    template <class MutableBufferSequence>
    static boost::asio::mutable_buffer first_of(const MutableBufferSequence& bufs) {
        for (auto it = boost::asio::buffer_sequence_begin(bufs);
             it != boost::asio::buffer_sequence_end(bufs); ++it)
            if (boost::asio::mutable_buffer b(*it); b.size() > 0) return b;
        return {};
    }
    // The pieces of a write: a header and a body piece, as a rule, kept
    // inline (this runs for every write of the HTTP relay).
    using pieces = boost::container::small_vector<boost::asio::const_buffer, 4>;
    template <class ConstBufferSequence>
    static pieces all_of(const ConstBufferSequence& bufs) {
        return {boost::asio::buffer_sequence_begin(bufs), boost::asio::buffer_sequence_end(bufs)};
    }
    static std::span<const boost::asio::const_buffer> span_of(const pieces& p) {
        return {p.data(), p.size()};
    }
    static std::size_t or_throw(std::size_t n, const error_code& ec) {
        if (ec) throw boost::system::system_error(ec);
        return n;
    }

    // Starts `op` (a pump call) for an Asio completion token.
    template <class Token, class Op>
    auto initiate(Token& token, Op op) {
        return boost::asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, Op call) {
                auto later = wrap(std::move(handler));
                finish(pump_ ? call(*pump_, &later) : closed(), later);
            },
            token, op);
    }

    static pump::io_result closed() {
        return {true, boost::asio::error::bad_descriptor, 0};
    }

    // Completion from any thread: to the handler's executor, keeping it busy
    // meanwhile. Dispatched (inline when that executor allows) when a frame
    // from the stream completes it; posted when the owner's own call did.
    template <class Handler>
    pump::io_handler wrap(Handler handler) const {
        auto ex = boost::asio::prefer(boost::asio::get_associated_executor(handler, ex_),
                                      boost::asio::execution::outstanding_work.tracked);
        return [h = std::move(handler), ex = std::move(ex)](error_code ec, std::size_t n) mutable {
            auto run = [h = std::move(h), ec, n]() mutable { std::move(h)(ec, n); };
            if (pump::in_reaction())
                boost::asio::dispatch(ex, std::move(run));
            else
                boost::asio::post(ex, std::move(run));
        };
    }

    // A result known at once is posted: never complete inside the initiation.
    void finish(const pump::io_result& r, pump::io_handler& later) const {
        if (!r.done) return;
        boost::asio::post(ex_, [later = std::move(later), r]() mutable { later(r.ec, r.n); });
    }

    std::shared_ptr<pump> pump_;
    executor_type ex_;
};

}  // namespace burrow::stream
