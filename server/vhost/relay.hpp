// How the http connection moves bytes: a message relayed from one end to the
// other through its parser, and after a switch (101, CONNECT) a plain pipe.
// Templates over the two kinds of end (the user's socket, the in-process
// stream::local_stream to the service); used by http_connection.cpp only.
#pragma once

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include "common/stream/local_stream.hpp"
#include "common/net_util.hpp"
#include "server/vhost/body_budget.hpp"
#include "server/vhost/message.hpp"
#include "server/vhost/relay_buffer.hpp"
#include "server/vhost/response_scanner.hpp"
#include "server/vhost/watchdog.hpp"

namespace burrow::vhost {

// The package's .cpp files include this one; these names are theirs too.
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using boost::system::error_code;
using clock = watchdog::clock;
inline constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

// Asio posts every completion that is known at once (a read of bytes that are
// already buffered, a send the socket takes whole), and from a gRPC thread a
// post wakes an Asio thread. So the relays do what can be done at once
// synchronously: parse what is buffered (Beast's parser, fed by hand) and
// write while the peer has room (sockets are non-blocking); they co_await only
// what would have to wait.

// Feeds what `buffer` holds to `parser` until the header is complete. A
// response's bytes are kept in `raw` as they came, and the scanner told where
// they are. need_more: the rest has to be read.
template <class Parser>
error_code parse_header(beast::flat_buffer& buffer, Parser& parser, std::string* raw = nullptr) {
    constexpr bool scanning = std::is_same_v<Parser, response_scanner>;
    error_code ec;
    while (!parser.is_header_done()) {
        if (buffer.size() == 0) return http::error::need_more;
        if constexpr (scanning) parser.at(buffer.data(), raw->size());
        const auto used = parser.put(buffer.data(), ec);
        if constexpr (scanning) raw->append(static_cast<const char*>(buffer.data().data()), used);
        buffer.consume(used);
        if (ec) return ec;
        if (used == 0) return http::error::need_more;
    }
    return {};
}

// A deadline that an operation arms while it waits: `timeout` for each
// wait, and within what is left of `budget`. No deadline: waits for ever.
struct timing {
    watchdog* dog = nullptr;
    watchdog::clock::time_point* deadline = nullptr;  // the dog's user or upstream
    watchdog::clock::duration timeout{};
    body_budget* budget = nullptr;
};

struct relay_end {
    error_code read;   // from the sender: a broken stream, a bad message
    error_code write;  // to the receiver
};

template <class Stream, bool is_request>
awaitable<error_code> read_more(Stream& stream, beast::flat_buffer& buffer,
                                http::basic_parser<is_request>& parser, timing t);
template <class Stream>
awaitable<error_code> write_rest(Stream& stream, std::array<asio::const_buffer, 2> buffers,
                                 std::size_t written, timing t);

// Relays the rest of the message `parser` has the header of, `head` first,
// from `in` (what `buffer` holds, then what is read) to `out`.
template <class In, class Out, bool is_request>
awaitable<relay_end> relay(
    In& in, beast::flat_buffer& buffer, http::basic_parser<is_request>& parser,
    timing read_timing, Out& out, std::string_view head, timing write_timing) {
    relay_end end;
    for (;;) {
        // What the parser takes of the buffer is the message's; it goes on
        // with what is pending of the header, in one write.
        std::size_t used = 0;
        while (!parser.is_done() && used < buffer.size()) {
            const auto n = parser.put(buffer.data() + used, end.read);
            used += n;
            if (end.read == http::error::need_more) end.read = {};
            if (end.read || n == 0) break;
        }
        if (end.read) co_return end;
        if (!head.empty() || used > 0) {
            const std::array buffers{asio::const_buffer(head.data(), head.size()),
                                     asio::const_buffer(buffer.data().data(), used)};
            const auto n = asio::write(out, buffers, end.write);
            if (would_block(end.write))
                end.write = co_await write_rest(out, buffers, n, write_timing);
            buffer.consume(used);
            head = {};
            if (end.write) co_return end;
        }
        if (parser.is_done()) co_return end;
        // What the parser leaves is the start of a chunk line or of the
        // trailers, which Beast does not bound: a line longer than a whole
        // header is refused rather than buffered without end.
        if (buffer.size() >= max_framing_line) {
            end.read = http::error::bad_chunk;
            co_return end;
        }
        end.read = co_await read_more(in, buffer, parser, read_timing);
        if (end.read) co_return end;
    }
}

template <class Stream, bool is_request>
awaitable<error_code> read_more(Stream& stream, beast::flat_buffer& buffer,
                                http::basic_parser<is_request>& parser, timing t) {
    // The in-process end is tried at once (no syscall); a socket goes
    // straight to the reactor, which tries once itself.
    constexpr bool in_process = std::is_same_v<Stream, stream::local_stream>;
    const auto space = buffer.prepare(parser.is_header_done() ? relay_chunk : header_read);
    error_code ec;
    std::size_t n = 0;
    if constexpr (in_process) n = stream.read_some(space, ec);
    // At function scope: as a local of the block below, GCC 12's ASan build
    // read it as zero after the co_await (a body "waited" for the uptime).
    clock::time_point since{};
    if (!in_process || would_block(ec)) {
        since = clock::now();
        if (t.deadline) {
            auto wait = t.timeout;
            if (t.budget) wait = std::clamp(t.budget->left(), clock::duration::zero(), wait);
            t.dog->set(*t.deadline, since + wait);
        }
        std::tie(ec, n) = co_await stream.async_read_some(space, nothrow);
        if (t.deadline) *t.deadline = watchdog::never;
        if (t.budget) t.budget->waited += clock::now() - since;
    }
    if (t.budget) t.budget->received += n;
    buffer.commit(n);
    if (ec == asio::error::eof) {
        // The end of the stream ends the message only where the parser says so.
        if (!parser.got_some()) co_return http::error::end_of_stream;
        ec = {};
        parser.put_eof(ec);
    }
    co_return ec;
}

template <class Stream>
awaitable<error_code> write_rest(Stream& stream, std::array<asio::const_buffer, 2> buffers,
                                 std::size_t written, timing t) {
    beast::buffers_suffix rest(buffers);
    rest.consume(written);
    if (t.deadline) t.dog->set(*t.deadline, clock::now() + t.timeout);
    auto [ec, n] = co_await asio::async_write(stream, rest, nothrow);
    if (t.deadline) *t.deadline = watchdog::never;
    co_return ec;
}

// After a 101 (or a CONNECT's 2xx) bytes flow both ways as they are, with
// half-close kept, until both directions are done.
template <class User, class Upstream>
awaitable<void> pipe(User& user, beast::flat_buffer& user_buffer, Upstream& upstream,
                     beast::flat_buffer& upstream_buffer) {
    using namespace asio::experimental::awaitable_operators;

    auto copy = [](auto& from, auto& to, beast::flat_buffer& pending) -> awaitable<void> {
        if (pending.size() > 0) {
            auto [ec, n] = co_await asio::async_write(to, pending.data(), nothrow);
            pending.consume(pending.size());
            if (ec) co_return;
        }
        relay_buffer buffer;
        for (;;) {
            auto [rec, n] =
                co_await from.async_read_some(asio::buffer(buffer.data.get(), relay_chunk),
                                              nothrow);
            if (n > 0) {
                auto [wec, wn] =
                    co_await asio::async_write(to, asio::buffer(buffer.data.get(), n), nothrow);
                if (wec) break;
            }
            if (rec) {
                if (rec == asio::error::eof) {
                    error_code ignored;
                    to.shutdown(asio::socket_base::shutdown_send, ignored);
                    co_return;
                }
                break;
            }
        }
        error_code ignored;  // a broken direction ends both
        from.close(ignored);
        to.close(ignored);
    };
    co_await (copy(user, upstream, user_buffer) && copy(upstream, user, upstream_buffer));
}

}  // namespace burrow::vhost
