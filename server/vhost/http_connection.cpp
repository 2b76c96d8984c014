// The HTTP side of the vhost: one coroutine per user connection reads each
// request with Beast's parser, picks the proxy by Host and path, and relays
// the request to that proxy's local service and the response back, bodies
// streamed in 64 KiB pieces both ways (relay.hpp).
//
// The local service is reached through a Work stream of the owning client
// session, as for a tcp proxy (the client dials the service), whose
// in-process end Beast reads and writes as a stream (stream::local_stream): pooling,
// backpressure, half-close and timeouts are the tcp proxies' own, without a
// socket in between. One upstream connection is kept per user connection and
// reused while requests go to the same proxy (upstream_link.hpp); idle ones
// wait in a pool.
#include "server/vhost/http_connection.hpp"

#include <array>
#include <memory>
#include <memory_resource>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "common/host_names.hpp"
#include "common/inline_strand.hpp"
#include "server/server_state.hpp"
#include "server/vhost/error_page.hpp"
#include "server/vhost/log.hpp"
#include "server/vhost/relay.hpp"
#include "server/vhost/request_rewrite.hpp"
#include "server/vhost/rules.hpp"
#include "server/vhost/table.hpp"
#include "server/vhost/upstream_link.hpp"

namespace burrow::vhost {

using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t max_linger_bytes = 1 << 20;
constexpr auto linger_time = 2s;

// A user or upstream socket that the watchdog closed fails like this.
bool cut_off(const error_code& ec) {
    return is_expected_error(ec) || ec == asio::error::bad_descriptor;
}

class http_connection : public std::enable_shared_from_this<http_connection> {
public:
    http_connection(server_state& st, tcp::socket socket, std::shared_ptr<upstream_pool> pool,
                    conn_limits::ticket admission)
        : st_(st),
          admission_(std::move(admission)),
          strand_(make_inline_strand(st.io)),
          user_(std::move(socket)),
          upstream_(std::move(pool), strand_),
          dog_(strand_),
          header_timeout_(std::chrono::seconds(st.config.vhost_header_timeout)) {
        error_code ec;
        const auto remote = user_.remote_endpoint(ec);
        peer_ip_ = ec ? std::string("?") : to_string(remote.address());
        peer_ = ec ? std::string("?") : to_string(remote);
        user_.non_blocking(true, ec);  // for the relays' writes at once
    }

    void start() {
        asio::co_spawn(strand_, [self = shared_from_this()]() { return self->run(); },
                       asio::detached);
        asio::co_spawn(strand_, [self = shared_from_this()]() { return self->watch(); },
                       asio::detached);
    }

private:
    awaitable<void> run();
    // Serves one request whose header has been read; false: close the connection.
    awaitable<bool> serve(request_parser& parser);
    awaitable<bool> no_route(std::string_view host, bool can_continue);
    awaitable<void> send_request(request_parser& parser);
    awaitable<void> relay_response(const request_parser& parser, bool switching);
    // Writes `head` to the user (a 1xx, a 101).
    awaitable<error_code> write_head(std::string_view head);
    awaitable<void> watch();
    // An answer of Burrow's own, with at most one extra header.
    awaitable<void> send_error(http::status status, std::string_view detail, bool keep_alive,
                               http::field extra = http::field::unknown,
                               std::string_view extra_value = {});
    awaitable<void> linger_close();

    timing user_timing() { return {&dog_, &dog_.user, header_timeout_}; }
    timing request_body_timing() {
        return {&dog_, &dog_.user, header_timeout_, ex_.budget.on ? &ex_.budget : nullptr};
    }
    // Silence within a response body (long polls, event streams).
    timing response_body_timing() {
        if (ex_.route->response_idle_timeout.count() == 0) return {};
        return {&dog_, &dog_.upstream, ex_.route->response_idle_timeout};
    }
    void user_deadline(clock::duration d) { dog_.set(dog_.user, clock::now() + d); }

    server_state& st_;
    const conn_limits::ticket admission_;  // counts it as open from its address
    // Completions (a frame from the service, say) run on the thread that
    // delivers them when the connection is not busy: no thread wake-up each.
    asio::any_io_executor strand_;
    tcp::socket user_;
    beast::flat_buffer user_buffer_;
    std::string peer_ip_, peer_;

    upstream_link upstream_;
    // The header of the request and of the response in flight, as they go out.
    std::string request_head_, response_head_;

    // How sending the request ended, when it did not reach the service whole.
    enum class request_fault { none, user_gone, too_large, malformed };
    // One exchange (request + response) at a time; both halves run at once.
    // Everything it decides lives here and starts afresh with each request.
    struct exchange {
        exchange() = default;
        explicit exchange(const body_budget& b) : budget(b) {}

        std::shared_ptr<const target> route;
        bool user_keeps = false;  // the user's request asked to keep the connection
        bool request_sent = false;
        bool awaiting_response = false;
        bool response_started = false;  // bytes of an answer went to the user
        bool keep_alive = false;        // the user's connection serves the next request
        bool upstream_keeps = false;    // the service keeps the upstream for the next one
        request_fault fault = request_fault::none;
        bool upstream_timed_out = false;
        body_budget budget;
    };
    exchange ex_;

    // One timer polices both sockets (see watchdog.hpp).
    watchdog dog_;
    bool user_timed_out_ = false;
    bool closed_ = false;

    const std::chrono::seconds header_timeout_;

    // Header fields of the exchange in progress (see `fields`).
    std::array<std::byte, 4096> arena_space_;
    std::pmr::monotonic_buffer_resource arena_{arena_space_.data(), arena_space_.size()};
};

awaitable<void> http_connection::run() {
    for (bool keep = true; keep;) {
        // A new exchange: nothing of its answer went out yet, nothing decided.
        ex_ = exchange(body_budget(st_.config));
        // The previous exchange's parsers are gone: their fields' memory is free.
        arena_.release();
        auto parser = make_parser<request_parser>(arena_);
        parser.header_limit(max_request_header);
        if (st_.config.vhost_max_body_size > 0)
            parser.body_limit(st_.config.vhost_max_body_size);
        else
            parser.body_limit(boost::none);

        // The whole header within vhost_header_timeout (slowloris).
        user_deadline(header_timeout_);
        auto ec = parse_header(user_buffer_, parser);  // a pipelined request
        while (ec == http::error::need_more) {
            ec = co_await read_more(user_, user_buffer_, parser, {});
            if (!ec) ec = parse_header(user_buffer_, parser);
        }
        dog_.user = watchdog::never;
        if (ec && (user_timed_out_ || cut_off(ec))) break;
        if (ec == http::error::header_limit) {
            co_await send_error(http::status::request_header_fields_too_large,
                                "The request header is too large.", false);
        } else if (ec == http::error::body_limit) {
            co_await send_error(http::status::payload_too_large, "The request body is too large.",
                                false);
        } else if (ec && ec != http::error::end_of_stream && ec != http::error::partial_message) {
            co_await send_error(http::status::bad_request, "The request is malformed.", false);
        }
        if (ec) break;
        keep = co_await serve(parser);
        for (auto* b : {&user_buffer_, &upstream_.buffer()})
            if (b->size() == 0 && b->capacity() > header_read) b->shrink_to_fit();
    }
    upstream_.release();
    closed_ = true;
    dog_.timer.cancel();
    error_code ignored;
    user_.close(ignored);
}

awaitable<bool> http_connection::serve(request_parser& parser) {
    auto& req = parser.get();
    // Whatever we answer ourselves, the connection stays usable only if the
    // request had no body left to read.
    const bool can_continue = req.keep_alive() && parser.is_done();
    const bool connect = req.method() == http::verb::connect;
    request_target where;
    if (const auto refused = refuse_request(req, where)) {
        if (!refused->log.empty()) vhost_log().info("400 for {}: {}", peer_, refused->log);
        co_await send_error(http::status::bad_request, refused->detail, false);
        co_return false;
    }
    const std::string_view host =
        where.authority.empty() ? std::string_view(req[http::field::host]) : where.authority;
    ex_.route = st_.vhosts.find_http(host, where.path);
    if (!ex_.route) {
        co_return co_await no_route(host, can_continue);
    }
    const auto& route = *ex_.route;
    if (!route.authorization.empty() &&
        !basic_credentials_match(req[http::field::authorization], route.authorization)) {
        co_await send_error(http::status::unauthorized, "Authentication is required.",
                            can_continue, http::field::www_authenticate,
                            "Basic realm=\"burrow\", charset=\"UTF-8\"");
        co_return can_continue;
    }
    // After a 2xx to CONNECT the connection would be a pipe that no rule
    // applies to any more: only for proxies that ask for it.
    if (connect && !route.allow_connect) {
        co_await send_error(http::status::method_not_allowed,
                            "CONNECT is not allowed here.", false, http::field::allow,
                            "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
        co_return false;
    }
    auto owner = route.owner.lock();
    if (!owner) {
        vhost_log().info("[{}] 502 for {}: the client is offline", route.proxy, peer_);
        co_await send_error(http::status::bad_gateway, "The service's tunnel client is offline.",
                            false);
        co_return false;
    }
    const auto connection = connection_tokens(req);
    const bool upgrade = !connect && is_real_upgrade(req, connection);
    const bool switching = connect || upgrade;
    ex_.user_keeps = req.keep_alive();
    write_request_head(req, connection,
                       connect ? std::string_view(req.target().data(), req.target().size())
                               : std::string_view(where.origin_form()),
                       route,
                       {host, peer_ip_}, upgrade, request_head_);
    if (!upstream_.usable_for(route.proxy, owner.get()) &&
        !co_await upstream_.open(route.proxy, *owner, peer_)) {
        co_await send_error(http::status::bad_gateway, "The service cannot be reached.", false);
        co_return false;
    }

    if (parser.is_done()) {
        // No body to stream (most requests): one after the other, without
        // the cost of running both halves at once.
        co_await send_request(parser);
        co_await relay_response(parser, switching);
    } else {
        co_await (send_request(parser) && relay_response(parser, switching));
    }
    // An answer that came before the whole request went out leaves the
    // service's side of the connection mid-request: never reuse it.
    upstream_.mark_reusable(ex_.upstream_keeps && ex_.request_sent);
    if (!ex_.keep_alive) upstream_.release();
    // A request that asked to switch but got a plain answer is one like any
    // other: what the user pipelined behind it is served next. After a
    // switch, pipe() has ended the connection (keep_alive is false).
    co_return ex_.keep_alive;
}

// No proxy serves `host`: 400 for a malformed one, 404, or 503 while the
// server has only just started and the proxy's client may not have
// registered again yet.
awaitable<bool> http_connection::no_route(std::string_view host, bool can_continue) {
    // A name that is not a host name at all (a bad port, folded lines) is the
    // user's mistake, not an unknown service. Checked here only: such a name
    // never routes, and the router normalises every other one itself.
    if (std::string normal; !host.empty() && !normalize_host(host, normal)) {
        vhost_log().debug("400 for {}: malformed host '{}'", peer_, printable(host));
        co_await send_error(http::status::bad_request, "The Host header is malformed.", false);
        co_return false;
    }
    const auto grace = std::chrono::seconds(st_.config.vhost_start_grace);
    if (clock::now() - st_.started < grace) {
        vhost_log().debug("503 for host '{}' from {}: still starting", printable(host), peer_);
        co_await send_error(http::status::service_unavailable,
                            "The server has just started and this service has not come back yet; "
                            "try again in a few seconds.",
                            can_continue, http::field::retry_after, "5");
    } else {
        vhost_log().debug("404 for host '{}' from {}", printable(host), peer_);
        co_await send_error(http::status::not_found, "There is no service at this address.",
                            can_continue);
    }
    co_return can_continue;
}

// The service must make progress while we wait on it: an answer within
// response_timeout once the request is sent, and no longer stalls while the
// response body comes. The user gets vhost_header_timeout for each step.
awaitable<void> http_connection::watch() {
    while (!closed_) {
        dog_.timer.expires_at(std::min(dog_.user, dog_.upstream));
        co_await dog_.timer.async_wait(nothrow);
        if (closed_) break;
        const auto now = clock::now();
        if (now >= dog_.upstream) {
            dog_.upstream = watchdog::never;
            ex_.upstream_timed_out = true;
            upstream_.close();
        }
        if (now >= dog_.user) {
            dog_.user = watchdog::never;
            user_timed_out_ = true;
            error_code ignored;
            user_.close(ignored);
        }
    }
}

// ---- the exchange ----

awaitable<error_code> http_connection::write_head(std::string_view head) {
    ex_.response_started = true;
    const std::array buffers{asio::const_buffer(head.data(), head.size()), asio::const_buffer()};
    error_code ec;
    const auto n = asio::write(user_, buffers, ec);
    if (would_block(ec)) ec = co_await write_rest(user_, buffers, n, user_timing());
    co_return ec;
}

awaitable<void> http_connection::send_request(request_parser& parser) {
    // The header goes alone only when no body bytes are here yet (the user
    // may wait for 100 Continue); otherwise it leaves with the first piece.
    const auto end = co_await relay(user_, user_buffer_, parser, request_body_timing(),
                                    upstream_.stream(), request_head_, {});
    if (end.read) {
        if (user_timed_out_ && ex_.budget.on && ex_.budget.left() <= clock::duration::zero())
            vhost_log().info(
                "[{}] request body from {} too slow: {} B in {} ms; closed", ex_.route->proxy,
                peer_, ex_.budget.received,
                std::chrono::duration_cast<std::chrono::milliseconds>(ex_.budget.waited).count());
        // The user went away, stalled or sent a bad body: the service gets no
        // complete request, the user an error if still there.
        ex_.fault = end.read == http::error::body_limit ? request_fault::too_large
                         : cut_off(end.read) || user_timed_out_ ||
                                 end.read == http::error::partial_message
                             ? request_fault::user_gone
                             : request_fault::malformed;
        co_return upstream_.close();
    }
    // A failed write means the upstream is gone; the response side reports it.
    if (end.write) co_return upstream_.close();
    ex_.request_sent = true;
    if (ex_.awaiting_response)
        dog_.set(dog_.upstream, clock::now() + ex_.route->response_timeout);
}

awaitable<void> http_connection::relay_response(const request_parser& sent, bool switching) {
    const auto& req = sent.get();
    const bool head = req.method() == http::verb::head;
    const bool connect = req.method() == http::verb::connect;
    auto finish = [this] { dog_.upstream = watchdog::never; };

    for (;;) {
        response_scanner parser;
        parser.header_limit(max_response_header);
        parser.body_limit(boost::none);
        if (head || connect) parser.skip(true);

        ex_.awaiting_response = true;
        dog_.set(dog_.upstream, ex_.request_sent ? clock::now() + ex_.route->response_timeout
                                                 : watchdog::never);
        // The header as it came: it goes on unchanged unless Burrow changes it.
        response_head_.clear();
        auto ec = parse_header(upstream_.buffer(), parser, &response_head_);
        while (ec == http::error::need_more) {
            ec = co_await read_more(upstream_.stream(), upstream_.buffer(), parser, {});
            if (!ec) ec = parse_header(upstream_.buffer(), parser, &response_head_);
        }
        ex_.awaiting_response = false;
        dog_.upstream = watchdog::never;
        if (ec) {
            finish();
            if (ex_.fault == request_fault::too_large) {
                co_await send_error(http::status::payload_too_large,
                                    "The request body is too large.", false);
            } else if (ex_.fault == request_fault::malformed) {
                co_await send_error(http::status::bad_request, "The request body is malformed.",
                                    false);
            } else if (ex_.fault == request_fault::user_gone) {
                // nobody to answer
            } else if (ex_.upstream_timed_out) {
                vhost_log().info("[{}] 504 for {}: no answer in {} ms", ex_.route->proxy, peer_,
                                 ex_.route->response_timeout.count());
                co_await send_error(http::status::gateway_timeout,
                                    "The service did not answer in time.", false);
            } else {
                vhost_log().info("[{}] 502 for {}: {}", ex_.route->proxy, peer_,
                                 ec == http::error::end_of_stream
                                     ? std::string("the connection to the service closed")
                                     : ec.message());
                co_await send_error(http::status::bad_gateway, "The service did not answer.",
                                    false);
            }
            co_return;
        }

        const auto code = parser.status();
        const bool switched =
            switching && ((connect && code / 100 == 2) || (!connect && code == 101));
        // A length the user could read differently, or a switch nobody asked
        // for: the service's answer cannot be passed on safely.
        if (const auto problem = response_framing_problem(parser.framing());
            !problem.empty() || (code == 101 && !switched)) {
            finish();
            vhost_log().info("[{}] 502 for {}: the service's response has {}", ex_.route->proxy,
                             peer_, problem.empty() ? "101 without an upgrade" : problem);
            upstream_.close();
            co_await send_error(http::status::bad_gateway, "The service's answer is malformed.",
                                false);
            co_return;
        }
        const auto rewrite = [&](const response_scanner::header_set& set, bool keep_alive) {
            if (!set.empty() || parser.must_rewrite() || keep_alive != parser.keep_alive())
                response_head_ = parser.rewrite(response_head_, set, keep_alive);
        };
        if (code / 100 == 1 && !switched) {
            // 100 Continue and friends go to the user as they come.
            rewrite({}, parser.keep_alive());
            if (co_await write_head(response_head_)) {
                finish();
                co_return upstream_.close();
            }
            continue;
        }
        if (switched) {
            finish();
            rewrite(ex_.route->response_headers, parser.keep_alive());
            if (!co_await write_head(response_head_)) {
                dog_.user = watchdog::never;
                co_await pipe(user_, user_buffer_, upstream_.stream(), upstream_.buffer());
            }
            co_return;
        }
        // The user's connection is kept when both ends want it and the body
        // has its own framing; the upstream when the service keeps it.
        const bool upstream_keeps = parser.keep_alive() && !parser.need_eof();
        ex_.keep_alive = ex_.user_keeps && !parser.need_eof() && ex_.request_sent;
        rewrite(ex_.route->response_headers, ex_.keep_alive);
        // The header goes alone only when the body is not here yet (a stream
        // of events, say); otherwise it leaves with the first piece.
        ex_.response_started = true;
        const auto end = co_await relay(upstream_.stream(), upstream_.buffer(), parser,
                                        response_body_timing(), user_, response_head_,
                                        user_timing());
        if (end.read || end.write) {
            // Cut short: the user sees the connection close.
            ex_.keep_alive = false;
            upstream_.close();
        }
        finish();
        ex_.upstream_keeps =
            upstream_keeps && upstream_.is_open() && upstream_.buffer().size() == 0;
        if (!ex_.upstream_keeps) upstream_.close();
        co_return;
    }
}

// ---- answers of our own ----

awaitable<void> http_connection::send_error(http::status status, std::string_view detail,
                                            bool keep_alive, http::field extra,
                                            std::string_view extra_value) {
    if (ex_.response_started) co_return;  // too late for a status: just close
    ex_.response_started = true;
    const auto page = error_page(status, detail, keep_alive, extra, extra_value);
    user_deadline(header_timeout_);
    auto [ec, n] = co_await asio::async_write(user_, asio::buffer(page), nothrow);
    dog_.user = watchdog::never;
    if (!ec && !keep_alive) co_await linger_close();
}

// Closing right after an error while the user still sends (a refused upload)
// would reset the connection and could destroy our answer before it is read:
// stop sending, drain a little for a short while, then close.
awaitable<void> http_connection::linger_close() {
    error_code ec;
    user_.shutdown(asio::socket_base::shutdown_send, ec);
    if (ec) co_return;
    relay_buffer buffer;
    std::size_t drained = 0;
    user_deadline(linger_time);
    while (drained < max_linger_bytes) {
        auto [rec, n] =
            co_await user_.async_read_some(asio::buffer(buffer.data.get(), relay_chunk), nothrow);
        if (rec) break;
        drained += n;
    }
    user_.close(ec);
}

}  // namespace

void serve_http(server_state& st, tcp::socket socket, std::shared_ptr<upstream_pool> pool,
                conn_limits::ticket admission) {
    std::make_shared<http_connection>(st, std::move(socket), std::move(pool), std::move(admission))
        ->start();
}

}  // namespace burrow::vhost

