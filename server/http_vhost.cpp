// The vhost listener, and the HTTP side of it: one coroutine per user
// connection reads each request with Beast's parser, picks the proxy by Host
// and path, and relays the request to that proxy's local service and the
// response back, bodies streamed in 64 KiB pieces both ways.
//
// The local service is reached through a Work stream of the owning client
// session, as for a tcp proxy (the client dials the service), whose
// in-process end Beast reads and writes as a stream (bridge_stream): pooling,
// backpressure, half-close and timeouts are the tcp proxies' own, without a
// socket in between. One upstream connection is kept per user connection and
// reused while requests go to the same proxy; idle ones wait in a pool.
#include "server/http_vhost.hpp"

#include <array>
#include <map>
#include <memory_resource>
#include <mutex>
#include <optional>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "common/bridge_stream.hpp"
#include "common/inline_strand.hpp"
#include "common/log.hpp"
#include "common/net_util.hpp"
#include "server/client_session.hpp"
#include "server/http_rules.hpp"
#include "server/server_state.hpp"
#include "server/vhost_internal.hpp"

namespace burrow {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::ip::tcp;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::uint32_t max_request_header = 32 * 1024;
constexpr std::uint32_t max_response_header = 64 * 1024;
constexpr std::size_t relay_chunk = 64 * 1024;
// The longest chunk line (with extensions) or trailer section of a body.
constexpr std::size_t max_framing_line = max_request_header;
// What a read asks for while a header comes: most headers, and a small
// message whole, fit. (Beast's read_size() would ask for 512 bytes for ever
// from a buffer that is emptied after each piece: three writes for a 1 KiB
// response, and a 512-byte syscall per piece of a long body.) A body is
// read in relay_chunk pieces; a buffer that grew for one is given back after
// the exchange, so an idle connection keeps header_read bytes each way.
constexpr std::size_t header_read = 4 * 1024;
constexpr std::size_t max_linger_bytes = 1 << 20;
constexpr auto linger_time = 2s;

using clock = std::chrono::steady_clock;

// A body that is parsed but not kept: the relays forward the bytes the parser
// consumed (chunk framing and trailers included), so it only has to find
// where the message ends.
struct discard_body {
    struct value_type {};
    struct reader {
        template <bool is_request, class Fields>
        reader(http::header<is_request, Fields>&, value_type&) {}
        void init(const boost::optional<std::uint64_t>&, error_code& ec) { ec = {}; }
        template <class ConstBufferSequence>
        std::size_t put(const ConstBufferSequence& buffers, error_code& ec) {
            ec = {};
            return asio::buffer_size(buffers);
        }
        void finish(error_code& ec) { ec = {}; }
    };
};

// A request's header fields come from a per-connection arena, released after
// each exchange: a node per field from malloc was a tenth of the server's
// time. The header limit bounds what one exchange can take from it.
using fields = http::basic_fields<std::pmr::polymorphic_allocator<char>>;
using request = http::request<discard_body, fields>;
using request_parser = http::request_parser<discard_body, std::pmr::polymorphic_allocator<char>>;

// A response header parsed by Beast without a fields container: the relay
// keeps the header's bytes as they came (parse_header), and the scanner
// remembers where each field is in them, so an unchanged header goes on as
// it is and a changed one is written from those places. Storing the fields
// was about a third of what a response cost.
class response_scanner : public http::basic_parser<false> {
public:
    using header_set = std::vector<std::pair<std::string, std::string>>;

    // Where the next `put` reads from, and where that is in the kept bytes.
    void at(asio::const_buffer input, std::size_t kept) {
        begin_ = static_cast<const char*>(input.data());
        end_ = begin_ + input.size();
        kept_ = kept;
    }
    int status() const { return status_; }
    const framing_fields& framing() const { return framing_; }
    // A folded (obsolete) field value is never passed on as it came.
    bool must_rewrite() const { return !unfolded_.empty(); }

    // `raw`, the kept header, with the fields named in `set` replaced by
    // those values, and Connection saying `keep_alive` when it did not.
    std::string rewrite(std::string_view raw, const header_set& set, bool keep_alive) const {
        const bool connection_changes = keep_alive != this->keep_alive();
        std::string out(raw.substr(0, line_end_));
        for (const auto& f : fields_) {
            const auto name = raw.substr(f.at, f.name_size);
            if (connection_changes && f.name == http::field::connection) continue;
            if (std::any_of(set.begin(), set.end(),
                            [&](const auto& kv) { return beast::iequals(kv.first, name); }))
                continue;
            if (f.unfolded < 0)
                out.append(raw.substr(f.at, f.size));
            else
                out.append(name).append(": ").append(unfolded_[f.unfolded]);
            out += "\r\n";
        }
        for (const auto& [name, value] : set) out.append(name).append(": ").append(value) += "\r\n";
        if (connection_changes && version_ >= 11 && !keep_alive) out += "Connection: close\r\n";
        if (connection_changes && version_ < 11 && keep_alive) out += "Connection: keep-alive\r\n";
        out += "\r\n";
        return out;
    }

private:
    struct place {
        http::field name;
        std::uint32_t at, name_size, size;  // in the kept bytes, from the name to the value's end
        int unfolded;                       // index into unfolded_, or -1
    };
    std::size_t offset(const char* p) const { return kept_ + static_cast<std::size_t>(p - begin_); }
    bool in_input(beast::string_view s) const {
        return s.data() >= begin_ && s.data() + s.size() <= end_;
    }

    void on_request_impl(http::verb, beast::string_view, beast::string_view, int,
                         error_code& ec) override {
        ec = http::error::bad_method;  // a response parser is never asked this
    }
    void on_response_impl(int code, beast::string_view reason, int version,
                          error_code& ec) override {
        status_ = code;
        version_ = version;
        framing_.version = version;
        line_end_ = offset(reason.data() + reason.size()) + 2;  // with its CRLF
        ec = {};
    }
    void on_field_impl(http::field name, beast::string_view name_string, beast::string_view value,
                       error_code& ec) override {
        const auto at = offset(name_string.data());
        place f{name, static_cast<std::uint32_t>(at),
                static_cast<std::uint32_t>(name_string.size()), 0, -1};
        if (in_input(value)) {
            f.size = static_cast<std::uint32_t>(offset(value.data() + value.size()) - at);
        } else {
            // Beast unfolded the value into a buffer of its own.
            f.unfolded = static_cast<int>(unfolded_.size());
            unfolded_.emplace_back(value.data(), value.size());
        }
        fields_.push_back(f);
        // Kept for response_framing_problem(); Beast already refused some mixes.
        if (name == http::field::transfer_encoding && framing_.te_count++ == 0)
            framing_.te = te_.assign(value.data(), value.size());
        if (name == http::field::content_length && framing_.cl_count++ == 0)
            framing_.cl = cl_.assign(value.data(), value.size());
        ec = {};
    }
    void on_header_impl(error_code& ec) override { ec = {}; }
    void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code& ec) override {
        ec = {};
    }
    std::size_t on_body_impl(beast::string_view body, error_code& ec) override {
        ec = {};
        return body.size();
    }
    void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code& ec) override {
        ec = {};
    }
    std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body,
                                   error_code& ec) override {
        ec = {};
        return body.size();
    }
    void on_finish_impl(error_code& ec) override { ec = {}; }

    const char* begin_ = nullptr;
    const char* end_ = nullptr;
    std::size_t kept_ = 0;
    int status_ = 0;
    int version_ = 11;
    std::size_t line_end_ = 0;
    boost::container::small_vector<place, 16> fields_;
    std::vector<std::string> unfolded_;
    framing_fields framing_;
    std::string te_, cl_;
};

// A parser whose message's fields live in `arena`.
template <class Parser>
Parser make_parser(std::pmr::memory_resource& arena) {
    return Parser(std::piecewise_construct, std::make_tuple(),
                  std::make_tuple(std::pmr::polymorphic_allocator<char>(&arena)));
}

spdlog::logger& vhost_log() {
    static spdlog::logger& l = log::get("vhost");
    return l;
}

// A user or upstream socket that the watchdog closed fails like this.
bool cut_off(const error_code& ec) {
    return is_expected_error(ec) || ec == asio::error::bad_descriptor;
}

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

// Calls `f` with the value of each `name` field of `req`.
template <class F>
void for_each_value(const request& req, http::field name, F&& f) {
    for (auto [it, end] = req.equal_range(name); it != end; ++it)
        f(std::string_view(it->value().data(), it->value().size()));
}

// The tokens of a request's Connection header(s): fields it names are
// hop-by-hop (RFC 9110 7.6.1).
using token_list_view = boost::container::small_vector<std::string_view, 8>;
token_list_view connection_tokens(const request& req) {
    token_list_view out;
    for_each_value(req, http::field::connection, [&](std::string_view value) {
        for (const auto& token : http::token_list(value))
            if (out.size() < out.capacity()) out.emplace_back(token.data(), token.size());
    });
    return out;
}

bool contains(const token_list_view& tokens, std::string_view name) {
    return std::any_of(tokens.begin(), tokens.end(),
                       [&](std::string_view t) { return beast::iequals(t, name); });
}

// Upgrade (WebSocket and the like) turns the connection into a byte pipe once
// the service answers 101. Not h2c: after it, one connection would carry
// requests that Burrow never routes or checks (h2c smuggling).
bool is_real_upgrade(const request& req, const token_list_view& connection) {
    const auto upgrade = req[http::field::upgrade];
    if (upgrade.empty() || !contains(connection, "upgrade")) return false;
    for (const auto& protocol : http::token_list(upgrade))
        if (beast::iequals(protocol.substr(0, 3), "h2c")) return false;
    return true;
}

void append_to_list(std::string& list, std::string_view element) {
    if (!list.empty()) list += ", ";
    list.append(element);
}

// Who the user is, as Burrow tells the service. The user can neither remove
// these (by naming them in Connection) nor shadow them.
struct forwarded_for {
    std::string_view host;     // the Host the request was routed by
    std::string_view peer_ip;
};

bool is_forwarding_field(std::string_view name) {
    // Forwarded (RFC 7239) too: a service that trusts it would take the
    // user's word for the address. Burrow's X-Forwarded-* say it instead.
    return beast::iequals(name, "x-forwarded-for") || beast::iequals(name, "x-forwarded-proto") ||
           beast::iequals(name, "x-forwarded-host") || beast::iequals(name, "x-real-ip") ||
           beast::iequals(name, "forwarded");
}

// The request header as it goes to the service: `target` in origin-form, the
// Host it was routed by (or the proxy's rewrite), the user's fields in their
// order without hop-by-hop ones, names with '_', the Authorization that was
// Burrow's, and those Burrow sets; then Burrow's own. `connection` holds the
// request's Connection tokens (connection_tokens()), worked out once per request.
void write_request_head(const request& req, const token_list_view& connection,
                        std::string_view target, const vhost_target& proxy,
                        const forwarded_for& user, bool upgrade, std::string& out) {
    const auto append = [&out](auto s) { out.append(s.data(), s.size()); };
    const auto field_line = [&](auto name, auto value) {
        append(name);
        out += ": ";
        append(value);
        out += "\r\n";
    };
    const auto dropped = [&](const auto& f) {
        const std::string_view name(f.name_string().data(), f.name_string().size());
        if (f.name() == http::field::host || has_underscore(name) || is_hop_by_hop(name) ||
            is_forwarding_field(name))
            return true;
        if (f.name() == http::field::authorization && !proxy.authorization.empty()) return true;
        if (!is_protected_field(name) && contains(connection, name)) return true;
        return std::any_of(proxy.request_headers.begin(), proxy.request_headers.end(),
                           [&](const auto& kv) { return beast::iequals(kv.first, name); });
    };

    out.clear();
    append(req.method_string());
    out += ' ';
    append(target);
    out += req.version() >= 11 ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n";
    field_line(std::string_view("Host"),
               proxy.host_header_rewrite.empty() ? user.host
                                                 : std::string_view(proxy.host_header_rewrite));
    std::string chain;  // X-Forwarded-For: what earlier proxies said, then the user
    for (const auto& f : req) {
        const std::string_view name(f.name_string().data(), f.name_string().size());
        if (beast::iequals(name, "x-forwarded-for") && !contains(connection, name)) {
            append_to_list(chain, std::string_view(f.value().data(), f.value().size()));
            continue;
        }
        if (!dropped(f)) field_line(name, f.value());
    }
    append_to_list(chain, user.peer_ip);
    field_line(std::string_view("X-Forwarded-For"), chain);
    field_line(std::string_view("X-Forwarded-Proto"), std::string_view("http"));
    field_line(std::string_view("X-Forwarded-Host"), user.host);
    field_line(std::string_view("X-Real-IP"), user.peer_ip);
    for (const auto& [name, value] : proxy.request_headers) field_line(name, value);
    if (upgrade) {
        field_line(std::string_view("Connection"), std::string_view("upgrade"));
        field_line(std::string_view("Upgrade"), req[http::field::upgrade]);
    } else if (req.version() < 11) {
        // Connection is hop-by-hop: the user's "close" ends the user's
        // connection, while the one to the service stays open (pooled).
        field_line(std::string_view("Connection"), std::string_view("keep-alive"));
    }
    out += "\r\n";
}

// The framing headers of a request, for request_framing_problem().
framing_fields framing_of(const request& req) {
    framing_fields f;
    f.version = req.version();
    for_each_value(req, http::field::transfer_encoding, [&](std::string_view v) {
        if (f.te_count++ == 0) f.te = v;
    });
    for_each_value(req, http::field::content_length, [&](std::string_view v) {
        if (f.cl_count++ == 0) f.cl = v;
    });
    return f;
}

// A buffer for the byte pipe after a switch, and for draining. Buffers are
// recycled: a fresh 64 KiB allocation and free each showed up as a tenth of
// the server's time (malloc consolidation).
class relay_buffer {
public:
    relay_buffer() {
        std::lock_guard lock(pool_mutex);
        if (!pool.empty()) {
            data = std::move(pool.back());
            pool.pop_back();
        }
        if (!data) data.reset(new char[relay_chunk]);
    }
    ~relay_buffer() {
        std::lock_guard lock(pool_mutex);
        if (pool.size() < max_pooled) pool.push_back(std::move(data));
    }
    relay_buffer(const relay_buffer&) = delete;
    relay_buffer& operator=(const relay_buffer&) = delete;

    std::unique_ptr<char[]> data;

private:
    static constexpr std::size_t max_pooled = 256;  // 16 MiB at most
    static inline std::mutex pool_mutex;
    static inline std::vector<std::unique_ptr<char[]>> pool;
};

}  // namespace

// Idle upstream connections, per proxy and client session, shared by all user
// connections: a user who sends `Connection: close` (or goes away) leaves
// the connection to the service open for the next one, as a reverse proxy's
// upstream keep-alive does. Taken most recent first; stale ones are closed.
class upstream_pool {
public:
    struct key {
        std::string proxy;
        const void* owner;
        auto operator<=>(const key&) const = default;
    };

    // When the pool is full, the oldest goes.
    void put(const key& k, std::shared_ptr<work_bridge> bridge) {
        std::shared_ptr<work_bridge> oldest;
        {
            std::lock_guard lock(mutex_);
            auto& idle = idle_[k];
            if (idle.size() >= max_idle_per_proxy) {
                oldest = std::move(idle.front().bridge);
                idle.erase(idle.begin());
            }
            idle.push_back({std::move(bridge), clock::now()});
        }
        if (oldest) oldest->close_local();
    }

    // The most recent idle upstream that is still fit; the unfit ones met on
    // the way are closed. The others wait for the sweep: a scan of all of
    // them on every request cost as much as the request's routing.
    std::shared_ptr<work_bridge> take(const key& k) {
        std::shared_ptr<work_bridge> found;
        std::vector<std::shared_ptr<work_bridge>> closing;
        {
            std::lock_guard lock(mutex_);
            auto it = idle_.find(k);
            if (it == idle_.end()) return nullptr;
            auto& idle = it->second;
            const auto now = clock::now();
            while (!found && !idle.empty()) {
                auto e = std::move(idle.back());
                idle.pop_back();
                if (fit(e, now))
                    found = std::move(e.bridge);
                else
                    closing.push_back(std::move(e.bridge));
            }
            if (idle.empty()) idle_.erase(it);
        }
        for (auto& b : closing) b->close_local();
        return found;
    }

    // Closes what went stale everywhere; the listener calls it now and then,
    // so upstreams of a proxy nobody visits any more do not linger.
    void sweep() {
        std::vector<std::shared_ptr<work_bridge>> closing;
        {
            std::lock_guard lock(mutex_);
            for (auto it = idle_.begin(); it != idle_.end();) {
                take_stale(it->second, closing);
                it = it->second.empty() ? idle_.erase(it) : std::next(it);
            }
        }
        for (auto& b : closing) b->close_local();
    }

private:
    static constexpr std::size_t max_idle_per_proxy = 64;
    static constexpr auto max_idle_time = 30s;
    struct entry {
        std::shared_ptr<work_bridge> bridge;
        clock::time_point since;
    };

    // Not idle for too long, and not closed by the service (or the tunnel)
    // nor sent stray bytes on.
    static bool fit(const entry& e, clock::time_point now) {
        return now - e.since < max_idle_time && e.bridge->local_reusable();
    }

    // Moves out idle upstreams that are no longer fit; closed outside the lock.
    static void take_stale(std::vector<entry>& idle,
                           std::vector<std::shared_ptr<work_bridge>>& out) {
        const auto now = clock::now();
        std::erase_if(idle, [&](entry& e) {
            if (fit(e, now)) return false;
            out.push_back(std::move(e.bridge));
            return true;
        });
    }

    std::mutex mutex_;
    std::map<key, std::vector<entry>> idle_;
};

namespace {

// Asks `owner` for a Work stream to `proxy` with an in-process end; completes
// with the started bridge, or nullptr when none can be had.
template <class Token>
auto async_dispatch_local(client_session& owner, std::string proxy, std::string peer,
                          Token&& token) {
    return asio::async_initiate<Token, void(std::shared_ptr<work_bridge>)>(
        [&owner](auto handler, std::string name, std::string from) {
            auto ex = asio::prefer(asio::get_associated_executor(handler),
                                   asio::execution::outstanding_work.tracked);
            owner.dispatch_local(
                std::move(name), std::move(from),
                [h = std::move(handler), ex = std::move(ex)](std::shared_ptr<work_bridge> b) mutable {
                    // Posted: inline, it would run nested in the session's strand.
                    asio::post(ex, [h = std::move(h), b = std::move(b)]() mutable {
                        std::move(h)(std::move(b));
                    });
                });
        },
        token, std::move(proxy), std::move(peer));
}

class http_connection : public std::enable_shared_from_this<http_connection> {
public:
    http_connection(server_state& st, tcp::socket socket, std::shared_ptr<upstream_pool> pool)
        : st_(st),
          pool_(std::move(pool)),
          strand_(make_inline_strand(st.io)),
          user_(std::move(socket)),
          watchdog_(strand_),
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
    awaitable<void> send_request(request_parser& parser);
    awaitable<void> relay_response(const request_parser& parser, bool switching);

    // A deadline that an operation arms while it waits.
    // A request body's allowance of time spent waiting for the user: the
    // first vhost_body_timeout, and a second more for every
    // vhost_body_min_rate bytes received (mod_reqtimeout's body=20,MinRate=500).
    // Waiting for the service to take what came does not count.
    struct body_budget {
        body_budget() = default;
        explicit body_budget(const server_config& c)
            : allowance(std::chrono::seconds(c.vhost_body_timeout)),
              rate(c.vhost_body_min_rate),
              on(c.vhost_body_timeout > 0) {}
        clock::duration left() const {
            const auto earned = rate == 0 ? clock::duration::zero()
                                          : std::chrono::duration_cast<clock::duration>(
                                                std::chrono::duration<double>(
                                                    static_cast<double>(received) / rate));
            return allowance + earned - waited;
        }
        clock::duration allowance{};
        std::uint64_t rate = 0;
        bool on = false;
        std::uint64_t received = 0;
        clock::duration waited{};
    };
    // A deadline that an operation arms while it waits: `timeout` for each
    // wait, and within what is left of `budget`. No deadline: waits for ever.
    struct timing {
        clock::time_point* deadline = nullptr;
        clock::duration timeout{};
        body_budget* budget = nullptr;
    };
    struct relay_end {
        error_code read;   // from the sender: a broken stream, a bad message
        error_code write;  // to the receiver
    };
    // Relays the rest of the message `parser` has the header of, `head` first,
    // from `in` (what `buffer` holds, then what is read) to `out`.
    template <class In, class Out, bool is_request>
    awaitable<relay_end> relay(In& in, beast::flat_buffer& buffer,
                               http::basic_parser<is_request>& parser, timing read_timing,
                               Out& out, std::string_view head, timing write_timing);
    template <class Stream, bool is_request>
    awaitable<error_code> read_more(Stream& stream, beast::flat_buffer& buffer,
                                    http::basic_parser<is_request>& parser, timing t);
    template <class Stream>
    awaitable<error_code> write_rest(Stream& stream, std::array<asio::const_buffer, 2> buffers,
                                     std::size_t written, timing t);
    // Writes `head` to the user (a 1xx, a 101).
    awaitable<error_code> write_head(std::string_view head);
    timing user_timing() { return {&user_deadline_, header_timeout_}; }
    timing request_body_timing() {
        return {&user_deadline_, header_timeout_, body_budget_.on ? &body_budget_ : nullptr};
    }
    // Silence within a response body (long polls, event streams).
    timing response_body_timing() {
        if (target_->response_idle_timeout.count() == 0) return {};
        return {&upstream_deadline_, target_->response_idle_timeout};
    }
    awaitable<void> pipe();
    awaitable<void> watch();
    // An answer of Burrow's own, with at most one extra header.
    awaitable<void> send_error(http::status status, std::string_view detail, bool keep_alive,
                               http::field extra = http::field::unknown,
                               std::string_view extra_value = {});
    awaitable<void> linger_close();

    awaitable<bool> open_upstream(const vhost_target& target, client_session& owner);
    void release_upstream();
    bool upstream_usable(const std::string& proxy, const void* owner);
    void close_upstream();
    void set_deadline(clock::time_point& which, clock::time_point at);
    void user_deadline(clock::duration d) { set_deadline(user_deadline_, clock::now() + d); }
    awaitable<bool> no_route(std::string_view host, bool can_continue);

    server_state& st_;
    std::shared_ptr<upstream_pool> pool_;
    // Completions (a frame from the service, say) run on the thread that
    // delivers them when the connection is not busy: no thread wake-up each.
    asio::any_io_executor strand_;
    tcp::socket user_;
    beast::flat_buffer user_buffer_;
    std::string peer_ip_, peer_;

    std::optional<bridge_stream> upstream_;
    std::string upstream_proxy_;
    const void* upstream_owner_ = nullptr;
    bool upstream_reusable_ = false;  // the last exchange ended cleanly, the service keeps it
    beast::flat_buffer upstream_buffer_;
    // The header of the request and of the response in flight, as they go out.
    std::string request_head_, response_head_;

    // One exchange (request + response) at a time; both halves run at once.
    std::shared_ptr<const vhost_target> target_;
    bool request_sent_ = false;
    bool awaiting_response_ = false;
    bool exchange_done_ = false;
    bool response_started_ = false;  // bytes of a response went to the user
    bool keep_alive_ = false;
    bool user_keeps_ = false;  // the user's request asked to keep the connection
    // How sending the request ended, when it did not reach the service whole.
    enum class request_fault { none, user_gone, too_large, malformed } request_fault_{};
    bool upstream_timed_out_ = false;
    body_budget body_budget_;

    // One timer polices both sockets: each operation moves a deadline (a plain
    // store), and the watchdog closes the socket whose deadline passes.
    asio::steady_timer watchdog_;
    clock::time_point user_deadline_ = clock::time_point::max();
    clock::time_point upstream_deadline_ = clock::time_point::max();
    bool user_timed_out_ = false;
    bool closed_ = false;

    const std::chrono::seconds header_timeout_;

    // Header fields of the exchange in progress (see `fields`).
    std::array<std::byte, 4096> arena_space_;
    std::pmr::monotonic_buffer_resource arena_{arena_space_.data(), arena_space_.size()};
};

awaitable<void> http_connection::run() {
    for (bool keep = true; keep;) {
        response_started_ = false;  // nothing of this request's answer went out yet
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
        user_deadline_ = clock::time_point::max();
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
        for (auto* b : {&user_buffer_, &upstream_buffer_})
            if (b->size() == 0 && b->capacity() > header_read) b->shrink_to_fit();
    }
    release_upstream();
    closed_ = true;
    watchdog_.cancel();
    error_code ignored;
    user_.close(ignored);
}

awaitable<bool> http_connection::serve(request_parser& parser) {
    auto& req = parser.get();
    // Whatever we answer ourselves, the connection stays usable only if the
    // request had no body left to read.
    const bool can_continue = req.keep_alive() && parser.is_done();
    const bool connect = req.method() == http::verb::connect;
    // A length that a service could read differently from Burrow would let
    // the rest of a body become a request of its own on a shared upstream
    // connection (smuggling): refused, and the connection closed.
    if (const auto problem = request_framing_problem(framing_of(req)); !problem.empty()) {
        vhost_log().info("400 for {}: {}", peer_, problem);
        co_await send_error(http::status::bad_request, "The request framing is invalid.", false);
        co_return false;
    }
    if (const auto hosts = req.count(http::field::host);
        hosts > 1 || (hosts == 0 && req.version() >= 11)) {
        co_await send_error(http::status::bad_request, "The request needs exactly one Host header.",
                            false);
        co_return false;
    }
    // Credentials are one value: with two, which one was checked is a guess.
    if (req.count(http::field::authorization) > 1) {
        co_await send_error(http::status::bad_request,
                            "The request has more than one Authorization header.", false);
        co_return false;
    }
    // Routed by the normalised path, and by the target's authority when it
    // has one (RFC 9112 3.2.2); the service gets what was routed.
    request_target where;
    const std::string_view raw_target(req.target().data(), req.target().size());
    if (connect) {
        where.path = "/";  // authority-form, forwarded as it came
    } else if (auto problem = parse_request_target(raw_target, where);
               !problem.empty() || (where.asterisk && req.method() != http::verb::options)) {
        if (problem.empty()) problem = "the asterisk form with a method other than OPTIONS";
        vhost_log().info("400 for {}: {} ('{}')", peer_, problem, printable(raw_target));
        co_await send_error(http::status::bad_request, "The request target is invalid.", false);
        co_return false;
    }
    const std::string_view host =
        where.authority.empty() ? std::string_view(req[http::field::host]) : where.authority;
    target_ = st_.vhosts.find_http(host, where.path);
    if (!target_) {
        co_return co_await no_route(host, can_continue);
    }
    const auto& target = *target_;
    if (!target.authorization.empty() &&
        !basic_credentials_match(req[http::field::authorization], target.authorization)) {
        co_await send_error(http::status::unauthorized, "Authentication is required.",
                            can_continue, http::field::www_authenticate,
                            "Basic realm=\"burrow\", charset=\"UTF-8\"");
        co_return can_continue;
    }
    // After a 2xx to CONNECT the connection would be a pipe that no rule
    // applies to any more: only for proxies that ask for it.
    if (connect && !target.allow_connect) {
        co_await send_error(http::status::method_not_allowed,
                            "CONNECT is not allowed here.", false, http::field::allow,
                            "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
        co_return false;
    }
    auto owner = target.owner.lock();
    if (!owner) {
        vhost_log().info("[{}] 502 for {}: the client is offline", target.proxy, peer_);
        co_await send_error(http::status::bad_gateway, "The service's tunnel client is offline.",
                            false);
        co_return false;
    }
    const auto connection = connection_tokens(req);
    const bool upgrade = !connect && is_real_upgrade(req, connection);
    const bool switching = connect || upgrade;
    user_keeps_ = req.keep_alive();
    write_request_head(req, connection, connect ? raw_target : std::string_view(where.origin_form()), target,
                       {host, peer_ip_}, upgrade, request_head_);
    if (!upstream_usable(target.proxy, owner.get()) && !co_await open_upstream(target, *owner)) {
        co_await send_error(http::status::bad_gateway, "The service cannot be reached.", false);
        co_return false;
    }

    request_sent_ = false;
    awaiting_response_ = false;
    exchange_done_ = false;
    keep_alive_ = false;
    request_fault_ = request_fault::none;
    upstream_timed_out_ = false;
    upstream_reusable_ = false;
    upstream_deadline_ = clock::time_point::max();
    body_budget_ = body_budget(st_.config);
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
    upstream_reusable_ = upstream_reusable_ && request_sent_;
    if (!keep_alive_) release_upstream();
    // A request that asked to switch but got a plain answer is one like any
    // other: what the user pipelined behind it is served next. After a
    // switch, pipe() has ended the connection (keep_alive_ is false).
    co_return keep_alive_;
}

// No proxy serves `host`: 400 for a malformed one, 404, or 503 while the server has only just started
// and the proxy's client may not have registered again yet.
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

// ---- upstream ----

bool http_connection::upstream_usable(const std::string& proxy, const void* owner) {
    if (!upstream_ || !upstream_->is_open() || upstream_proxy_ != proxy || upstream_owner_ != owner)
        return false;
    // A kept-alive upstream the service has closed meanwhile (or that has
    // stray bytes) must not get the next request.
    if (upstream_buffer_.size() == 0 && upstream_->reusable()) return true;
    close_upstream();
    return false;
}

void http_connection::release_upstream() {
    if (upstream_ && upstream_reusable_ && upstream_->is_open() && upstream_buffer_.size() == 0)
        pool_->put({upstream_proxy_, upstream_owner_}, upstream_->release());
    close_upstream();
    upstream_.reset();
    upstream_reusable_ = false;
}

awaitable<bool> http_connection::open_upstream(const vhost_target& target, client_session& owner) {
    release_upstream();
    upstream_proxy_ = target.proxy;
    upstream_owner_ = &owner;
    upstream_buffer_.clear();
    auto bridge = pool_->take({target.proxy, &owner});
    if (!bridge) bridge = co_await async_dispatch_local(owner, target.proxy, peer_, asio::use_awaitable);
    if (!bridge) co_return false;
    upstream_.emplace(std::move(bridge), strand_);
    co_return true;
}

// Only closes: a pending operation may still refer to the socket, which
// stays until open_upstream() replaces it between exchanges.
void http_connection::close_upstream() {
    error_code ignored;
    if (upstream_) upstream_->close(ignored);
}

// The service must make progress while we wait on it: an answer within
// response_timeout once the request is sent, and no longer stalls while the
// response body comes. The user gets vhost_header_timeout for each step.
void http_connection::set_deadline(clock::time_point& which, clock::time_point at) {
    which = at;
    if (at < watchdog_.expiry()) watchdog_.cancel();  // wake up sooner
}

awaitable<void> http_connection::watch() {
    while (!closed_) {
        watchdog_.expires_at(std::min(user_deadline_, upstream_deadline_));
        co_await watchdog_.async_wait(nothrow);
        if (closed_) break;
        const auto now = clock::now();
        if (now >= upstream_deadline_) {
            upstream_deadline_ = clock::time_point::max();
            upstream_timed_out_ = true;
            close_upstream();
        }
        if (now >= user_deadline_) {
            user_deadline_ = clock::time_point::max();
            user_timed_out_ = true;
            error_code ignored;
            user_.close(ignored);
        }
    }
}

// ---- the exchange ----

template <class In, class Out, bool is_request>
awaitable<http_connection::relay_end> http_connection::relay(
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
awaitable<error_code> http_connection::read_more(Stream& stream, beast::flat_buffer& buffer,
                                                 http::basic_parser<is_request>& parser,
                                                 timing t) {
    // The in-process end is tried at once (no syscall); a socket goes
    // straight to the reactor, which tries once itself.
    constexpr bool in_process = std::is_same_v<Stream, bridge_stream>;
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
            set_deadline(*t.deadline, since + wait);
        }
        std::tie(ec, n) = co_await stream.async_read_some(space, nothrow);
        if (t.deadline) *t.deadline = clock::time_point::max();
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
awaitable<error_code> http_connection::write_rest(Stream& stream,
                                                  std::array<asio::const_buffer, 2> buffers,
                                                  std::size_t written, timing t) {
    beast::buffers_suffix rest(buffers);
    rest.consume(written);
    if (t.deadline) set_deadline(*t.deadline, clock::now() + t.timeout);
    auto [ec, n] = co_await asio::async_write(stream, rest, nothrow);
    if (t.deadline) *t.deadline = clock::time_point::max();
    co_return ec;
}

awaitable<error_code> http_connection::write_head(std::string_view head) {
    response_started_ = true;
    const std::array buffers{asio::const_buffer(head.data(), head.size()), asio::const_buffer()};
    error_code ec;
    const auto n = asio::write(user_, buffers, ec);
    if (would_block(ec)) ec = co_await write_rest(user_, buffers, n, user_timing());
    co_return ec;
}

awaitable<void> http_connection::send_request(request_parser& parser) {
    // The header goes alone only when no body bytes are here yet (the user
    // may wait for 100 Continue); otherwise it leaves with the first piece.
    const auto end = co_await relay(user_, user_buffer_, parser, request_body_timing(), *upstream_,
                                    request_head_, {});
    if (end.read) {
        if (user_timed_out_ && body_budget_.on && body_budget_.left() <= clock::duration::zero())
            vhost_log().info("[{}] request body from {} too slow: {} B in {} ms; closed",
                             target_->proxy, peer_, body_budget_.received,
                             std::chrono::duration_cast<std::chrono::milliseconds>(
                                 body_budget_.waited)
                                 .count());
        // The user went away, stalled or sent a bad body: the service gets no
        // complete request, the user an error if still there.
        request_fault_ = end.read == http::error::body_limit ? request_fault::too_large
                         : cut_off(end.read) || user_timed_out_ ||
                                 end.read == http::error::partial_message
                             ? request_fault::user_gone
                             : request_fault::malformed;
        co_return close_upstream();
    }
    // A failed write means the upstream is gone; the response side reports it.
    if (end.write) co_return close_upstream();
    request_sent_ = true;
    if (awaiting_response_)
        set_deadline(upstream_deadline_, clock::now() + target_->response_timeout);
}

awaitable<void> http_connection::relay_response(const request_parser& sent, bool switching) {
    const auto& req = sent.get();
    const bool head = req.method() == http::verb::head;
    const bool connect = req.method() == http::verb::connect;
    auto finish = [this] {
        exchange_done_ = true;
        upstream_deadline_ = clock::time_point::max();
    };

    for (;;) {
        response_scanner parser;
        parser.header_limit(max_response_header);
        parser.body_limit(boost::none);
        if (head || connect) parser.skip(true);

        awaiting_response_ = true;
        set_deadline(upstream_deadline_, request_sent_ ? clock::now() + target_->response_timeout
                                                       : clock::time_point::max());
        // The header as it came: it goes on unchanged unless Burrow changes it.
        response_head_.clear();
        auto ec = parse_header(upstream_buffer_, parser, &response_head_);
        while (ec == http::error::need_more) {
            ec = co_await read_more(*upstream_, upstream_buffer_, parser, {});
            if (!ec) ec = parse_header(upstream_buffer_, parser, &response_head_);
        }
        awaiting_response_ = false;
        upstream_deadline_ = clock::time_point::max();
        if (ec) {
            finish();
            if (request_fault_ == request_fault::too_large) {
                co_await send_error(http::status::payload_too_large,
                                    "The request body is too large.", false);
            } else if (request_fault_ == request_fault::malformed) {
                co_await send_error(http::status::bad_request, "The request body is malformed.",
                                    false);
            } else if (request_fault_ == request_fault::user_gone) {
                // nobody to answer
            } else if (upstream_timed_out_) {
                vhost_log().info("[{}] 504 for {}: no answer in {} ms", target_->proxy, peer_,
                                 target_->response_timeout.count());
                co_await send_error(http::status::gateway_timeout,
                                    "The service did not answer in time.", false);
            } else {
                vhost_log().info("[{}] 502 for {}: {}", target_->proxy, peer_,
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
            vhost_log().info("[{}] 502 for {}: the service's response has {}", target_->proxy,
                             peer_, problem.empty() ? "101 without an upgrade" : problem);
            close_upstream();
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
                co_return close_upstream();
            }
            continue;
        }
        if (switched) {
            finish();
            rewrite(target_->response_headers, parser.keep_alive());
            if (!co_await write_head(response_head_)) co_await pipe();
            co_return;
        }
        // The user's connection is kept when both ends want it and the body
        // has its own framing; the upstream when the service keeps it.
        const bool upstream_keeps = parser.keep_alive() && !parser.need_eof();
        keep_alive_ = user_keeps_ && !parser.need_eof() && request_sent_;
        rewrite(target_->response_headers, keep_alive_);
        // The header goes alone only when the body is not here yet (a stream
        // of events, say); otherwise it leaves with the first piece.
        response_started_ = true;
        const auto end = co_await relay(*upstream_, upstream_buffer_, parser, response_body_timing(),
                                        user_, response_head_, user_timing());
        if (end.read || end.write) {
            // Cut short: the user sees the connection close.
            keep_alive_ = false;
            close_upstream();
        }
        finish();
        upstream_reusable_ = upstream_keeps && upstream_->is_open() && upstream_buffer_.size() == 0;
        if (!upstream_reusable_) close_upstream();
        co_return;
    }
}

// After a 101 (or a CONNECT's 2xx) bytes flow both ways as they are, with
// half-close kept, until both directions are done.
awaitable<void> http_connection::pipe() {
    user_deadline_ = clock::time_point::max();
    keep_alive_ = false;
    auto& up = *upstream_;
    auto& user_socket = user_;

    auto copy = [](auto& from, auto& to, beast::flat_buffer& pending) -> awaitable<void> {
        if (pending.size() > 0) {
            auto [ec, n] = co_await asio::async_write(to, pending.data(), nothrow);
            pending.consume(pending.size());
            if (ec) co_return;
        }
        relay_buffer buffer;
        for (;;) {
            auto [rec, n] =
                co_await from.async_read_some(asio::buffer(buffer.data.get(), relay_chunk), nothrow);
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
    co_await (copy(user_socket, up, user_buffer_) && copy(up, user_socket, upstream_buffer_));
}

// ---- answers of our own ----

awaitable<void> http_connection::send_error(http::status status, std::string_view detail,
                                            bool keep_alive, http::field extra,
                                            std::string_view extra_value) {
    if (response_started_) co_return;  // too late for a status: just close
    response_started_ = true;
    http::response<http::string_body> res{status, 11};
    res.set(http::field::server, "burrow");
    res.set(http::field::content_type, "text/html; charset=utf-8");
    res.set(http::field::cache_control, "no-store");
    if (extra != http::field::unknown) res.set(extra, extra_value);
    const auto reason = http::obsolete_reason(status);
    res.body() = fmt::format(
        "<!doctype html>\n<html><head><title>{0} {1}</title></head>\n"
        "<body><h1>{0} {1}</h1><p>{2}</p><hr><p>burrow</p></body></html>\n",
        static_cast<unsigned>(status), std::string_view(reason.data(), reason.size()), detail);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    user_deadline(header_timeout_);
    auto [ec, n] = co_await http::async_write(user_, res, nothrow);
    user_deadline_ = clock::time_point::max();
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

void serve_http(server_state& st, tcp::socket socket, std::shared_ptr<upstream_pool> pool) {
    std::make_shared<http_connection>(st, std::move(socket), std::move(pool))->start();
}

// ---- the listener ----

struct vhost_listener::impl : std::enable_shared_from_this<impl> {
    impl(server_state& s, kind k)
        : st(s),
          which(k),
          acceptor(asio::make_strand(s.io)),
          retry(acceptor.get_executor()),
          sweep_timer(acceptor.get_executor()) {}

    // Idle upstreams that went stale are closed within a few seconds.
    void sweep() {
        sweep_timer.expires_after(5s);
        sweep_timer.async_wait([self = shared_from_this()](const error_code& ec) {
            if (ec || !self->acceptor.is_open()) return;
            self->pool->sweep();
            self->sweep();
        });
    }

    void accept() {
        acceptor.async_accept(asio::make_strand(st.io), [self = shared_from_this()](
                                                              const error_code& ec,
                                                              tcp::socket socket) {
            if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
            if (ec) {
                // Out of descriptors and the like: back off instead of spinning.
                vhost_log().warn("accept failed: {}", ec.message());
                self->retry.expires_after(200ms);
                self->retry.async_wait([self](const error_code& e) {
                    if (!e) self->accept();
                });
                return;
            }
            error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
            if (self->which == kind::http)
                serve_http(self->st, std::move(socket), self->pool);
            else
                serve_https(self->st, std::move(socket));
            self->accept();
        });
    }

    server_state& st;
    kind which;
    // Lives with the listener (and its connections), never past the io_context
    // its sockets belong to.
    std::shared_ptr<upstream_pool> pool = std::make_shared<upstream_pool>();
    tcp::acceptor acceptor;
    asio::steady_timer retry;
    asio::steady_timer sweep_timer;
    std::uint16_t port = 0;
};

vhost_listener::vhost_listener(server_state& st, kind k) : impl_(std::make_shared<impl>(st, k)) {}

vhost_listener::~vhost_listener() { stop(); }

void vhost_listener::start() {
    auto& im = *impl_;
    const auto wanted =
        im.which == kind::http ? im.st.config.vhost_http_port : im.st.config.vhost_https_port;
    const char* name = im.which == kind::http ? "http" : "https";
    error_code ec;
    const auto address = asio::ip::make_address(im.st.config.proxy_bind_addr, ec);
    if (!ec) im.acceptor.open(address.is_v6() ? tcp::v6() : tcp::v4(), ec);
    if (!ec) im.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) im.acceptor.bind({address, wanted}, ec);
    if (!ec) im.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        throw std::runtime_error(fmt::format("cannot listen for {} proxies on {}:{}: {}", name,
                                             im.st.config.proxy_bind_addr, wanted, ec.message()));
    im.port = im.acceptor.local_endpoint().port();
    log::get("server").info("{} vhost listening on {}:{}", name, im.st.config.proxy_bind_addr,
                            im.port);
    asio::dispatch(im.acceptor.get_executor(), [self = impl_] {
        self->accept();
        if (self->which == kind::http) self->sweep();
    });
}

void vhost_listener::stop() {
    asio::dispatch(impl_->acceptor.get_executor(), [self = impl_] {
        error_code ignored;
        self->acceptor.close(ignored);
        self->retry.cancel();
        self->sweep_timer.cancel();
    });
}

std::uint16_t vhost_listener::port() const { return impl_->port; }

}  // namespace burrow
