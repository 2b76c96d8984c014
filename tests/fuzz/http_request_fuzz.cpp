// The HTTP vhost's request front (server/vhost/http_connection.cpp): the bytes
// a user sends on one connection, read as the connection reads them, request
// after request.
//
// Each exchange gets a parser made as run() makes it (make_parser over the
// connection's arena, released between exchanges; header_limit
// max_request_header; body_limit from vhost_max_body_size), fed as
// parse_header() and relay() in relay.hpp feed theirs (those are coroutine
// templates over sockets, so their loops are mirrored here), then what
// serve() does on a parsed head before any I/O: refuse_request(), the
// router, basic auth, connection_tokens(), is_real_upgrade() and
// write_request_head(); then the body is read to its end.
//
// Input: two bytes of settings (the body limit; the sizes reads come in),
// then the user's bytes.
//
// Properties of what goes to the service (write_request_head()):
// - it is one well-formed request head (Beast reads it whole, nothing left);
// - its framing (Transfer-Encoding, Content-Length) is the user's: the
//   service finds the body's end where Burrow did (no smuggling);
// - one Host, the routed one (or the proxy's rewrite); no field the user
//   named in Connection unless protected, no hop-by-hop or '_' field, no
//   user-supplied X-Forwarded-*/X-Real-IP/Forwarded, Burrow's own once each;
//   no Authorization when Burrow checked it;
// - the target is the normalised origin-form, which parses again to itself
//   and routes to the same proxy.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <memory_resource>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

#include "common/host_names.hpp"
#include "fuzz_check.hpp"
#include "server/vhost/message.hpp"
#include "server/vhost/request_rewrite.hpp"
#include "server/vhost/router.hpp"
#include "server/vhost/rules.hpp"
#include "server/vhost/table.hpp"

namespace burrow::vhost {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

constexpr std::string_view peer_ip = "192.0.2.7";

// The registered proxies: the router and each one's target.
struct proxies {
    router routes{"example.com"};
    std::map<std::string, target, std::less<>> targets;

    proxies() {
        add({"web", {"www.example.com", "example.com"}, "", {}}, {});
        target api;
        api.authorization = "Basic dXNlcjpwYXNz";  // user:pass (table.cpp's basic_authorization)
        api.host_header_rewrite = "api.internal";
        api.request_headers = {{"X-From", "burrow"}, {"Accept", "application/json"}};
        add({"api", {"example.com"}, "", {"/api", "/v1/admin"}}, std::move(api));
        target wild;
        wild.allow_connect = true;
        add({"wild", {"*.example.com"}, "", {}}, std::move(wild));
        add({"nas", {}, "nas", {"/", "/files"}}, {});
    }
    void add(route_spec spec, target t) {
        t.proxy = spec.proxy;
        FUZZ_CHECK(routes.add(spec).empty());
        targets.emplace(spec.proxy, std::move(t));
    }
    const target* find(std::string_view host, std::string_view path) const {
        const auto* name = routes.route(host, path);
        return name != nullptr ? &targets.find(*name)->second : nullptr;
    }
};

// The user's bytes, handed out in reads of varying size (at most header_read
// while a header comes, as read_more() asks).
class user_stream {
public:
    user_stream(std::string_view bytes, std::uint8_t seed) : rest_(bytes), state_(seed | 1u) {}

    // Appends the next read to `buffer`; false at the end of the stream.
    bool read(beast::flat_buffer& buffer, std::size_t most) {
        if (rest_.empty()) return false;
        state_ ^= state_ << 13;
        state_ ^= state_ >> 17;
        state_ ^= state_ << 5;
        const std::size_t sizes[] = {most, 1, 2, 7, 64, most / 2 + 1, most, most};
        const auto n = std::min({sizes[state_ % 8], most, rest_.size()});
        const auto space = buffer.prepare(n);
        std::memcpy(space.data(), rest_.data(), n);
        buffer.commit(n);
        rest_.remove_prefix(n);
        return true;
    }

private:
    std::string_view rest_;
    std::uint32_t state_;
};

// relay.hpp's parse_header(), for a request.
error_code parse_header(beast::flat_buffer& buffer, request_parser& parser) {
    error_code ec;
    while (!parser.is_header_done()) {
        if (buffer.size() == 0) return http::error::need_more;
        const auto used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        if (ec) return ec;
        if (used == 0) return http::error::need_more;
    }
    return {};
}

// relay.hpp's read_more() without the socket: the end of the stream ends the
// message only where the parser says so.
error_code read_more(user_stream& user, beast::flat_buffer& buffer, request_parser& parser) {
    if (user.read(buffer, parser.is_header_done() ? 64 * 1024 : header_read)) return {};
    if (!parser.got_some()) return http::error::end_of_stream;
    error_code ec;
    parser.put_eof(ec);
    return ec;
}

// relay()'s loop for the request body: what the parser takes is forwarded.
error_code read_body(user_stream& user, beast::flat_buffer& buffer, request_parser& parser) {
    for (;;) {
        error_code ec;
        std::size_t used = 0;
        while (!parser.is_done() && used < buffer.size()) {
            const auto n = parser.put(buffer.data() + used, ec);
            used += n;
            if (ec == http::error::need_more) ec = {};
            if (ec || n == 0) break;
        }
        if (ec) return ec;
        buffer.consume(used);
        if (parser.is_done()) return {};
        if (buffer.size() >= max_framing_line) return http::error::bad_chunk;
        if (auto e = read_more(user, buffer, parser)) return e;
    }
}

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

// What goes to the service, read back as the service reads it.
void check_head(const std::string& head, const request& req, const request_target& where,
                bool connect, bool upgrade, std::string_view host, const target& proxy,
                const proxies& table) {
    http::request_parser<http::empty_body> service;
    service.header_limit(1u << 20);
    service.body_limit(boost::none);  // the head only: any length the user gave
    service.eager(false);
    error_code ec;
    const auto used = service.put(boost::asio::buffer(head), ec);
    FUZZ_CHECK(!ec);
    FUZZ_CHECK(service.is_header_done());
    FUZZ_CHECK(used == head.size());
    const auto& out = service.get();

    FUZZ_CHECK(out.method() == req.method());
    FUZZ_CHECK(out.method_string() == req.method_string());
    FUZZ_CHECK(out.version() == (req.version() >= 11 ? 11 : 10));

    // The body ends where Burrow found its end.
    const auto before = framing_of(req);
    std::size_t te = 0, cl = 0;
    std::string_view first_te, first_cl;
    for (const auto& f : out) {
        if (f.name() == http::field::transfer_encoding && te++ == 0) first_te = sv(f.value());
        if (f.name() == http::field::content_length && cl++ == 0) first_cl = sv(f.value());
    }
    FUZZ_CHECK(te == before.te_count && cl == before.cl_count);
    FUZZ_CHECK(first_te == before.te && first_cl == before.cl);

    // Who the user is, said once and by Burrow.
    std::size_t hosts = 0, xff = 0, proto = 0, xhost = 0, real_ip = 0, auth = 0, connection = 0;
    for (const auto& f : out) {
        const auto name = sv(f.name_string());
        const auto value = sv(f.value());
        FUZZ_CHECK(!has_underscore(name));
        FUZZ_CHECK(!beast::iequals(name, "forwarded"));
        if (f.name() == http::field::host) {
            ++hosts;
            FUZZ_CHECK(value == (proxy.host_header_rewrite.empty()
                                     ? host
                                     : std::string_view(proxy.host_header_rewrite)));
        }
        if (beast::iequals(name, "x-forwarded-for")) {
            ++xff;
            FUZZ_CHECK(value.ends_with(peer_ip));
        }
        if (beast::iequals(name, "x-forwarded-proto")) {
            ++proto;
            FUZZ_CHECK(value == "http");
        }
        if (beast::iequals(name, "x-forwarded-host")) {
            ++xhost;
            FUZZ_CHECK(value == host);
        }
        if (beast::iequals(name, "x-real-ip")) {
            ++real_ip;
            FUZZ_CHECK(value == peer_ip);
        }
        if (f.name() == http::field::authorization) ++auth;
        if (f.name() == http::field::connection) {
            ++connection;
            FUZZ_CHECK(value == (upgrade ? "upgrade" : "keep-alive"));
        }
        if (is_hop_by_hop(name))
            FUZZ_CHECK((upgrade && (f.name() == http::field::upgrade ||
                                    f.name() == http::field::connection)) ||
                       (!upgrade && req.version() < 11 && f.name() == http::field::connection));
    }
    FUZZ_CHECK(hosts == 1 && xff == 1 && proto == 1 && xhost == 1 && real_ip == 1);
    FUZZ_CHECK(connection <= 1);
    if (!proxy.authorization.empty()) FUZZ_CHECK(auth == 0);

    if (connect) {
        FUZZ_CHECK(out.target() == req.target());
        return;
    }
    // The service routes by the target it gets: the same normalised one.
    FUZZ_CHECK(sv(out.target()) == where.origin_form());
    request_target again;
    FUZZ_CHECK(parse_request_target(sv(out.target()), again).empty());
    FUZZ_CHECK(again.path == where.path);
    FUZZ_CHECK(again.has_query == where.has_query && again.query == where.query);
    FUZZ_CHECK(again.asterisk == where.asterisk);
    const auto* name = table.routes.route(host, again.path);
    FUZZ_CHECK(name != nullptr && *name == proxy.proxy);
}

enum class next { serve, close };

// serve(): what the connection decides on a parsed head, then the request
// body. `close`: the connection ends after this exchange.
next serve(request_parser& parser, const proxies& table, user_stream& user,
           beast::flat_buffer& buffer) {
    const auto& req = parser.get();
    const bool can_continue = req.keep_alive() && parser.is_done();
    const bool connect = req.method() == http::verb::connect;
    request_target where;
    if (const auto refused = refuse_request(req, where)) {
        FUZZ_CHECK(!refused->detail.empty());
        return next::close;  // 400
    }
    const std::string_view host =
        where.authority.empty() ? sv(req[http::field::host]) : std::string_view(where.authority);
    // Routing normalises the host itself.
    const auto* proxy = table.find(host, where.path);
    if (proxy == nullptr) {
        if (std::string normal; !host.empty() && !normalize_host(host, normal)) {
            FUZZ_CHECK(normal.empty());
            return next::close;  // 400
        }
        return can_continue ? next::serve : next::close;  // 404 or 503
    }
    if (!proxy->authorization.empty() &&
        !basic_credentials_match(sv(req[http::field::authorization]), proxy->authorization))
        return can_continue ? next::serve : next::close;  // 401
    if (connect && !proxy->allow_connect) return next::close;  // 405

    const auto connection = connection_tokens(req);
    const bool upgrade = !connect && is_real_upgrade(req, connection);
    std::string head = "stale";
    write_request_head(req, connection,
                       connect ? sv(req.target()) : std::string_view(where.origin_form()), *proxy,
                       {host, peer_ip}, upgrade, head);
    check_head(head, req, where, connect, upgrade, host, *proxy, table);

    // The body, relayed as it comes; the service answers 200 and keeps its
    // connection. After a switch the connection is a pipe: no more requests.
    if (!parser.is_done() && read_body(user, buffer, parser)) return next::close;
    if (connect || upgrade) return next::close;
    return req.keep_alive() ? next::serve : next::close;
}

}  // namespace
}  // namespace burrow::vhost

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace burrow::vhost;
    static const proxies table;
    if (size < 2) return 0;
    // vhost_max_body_size: 0 (no limit) or a few small ones.
    static constexpr std::uint64_t body_limits[] = {0, 1, 10, 1000};
    const std::uint64_t body_limit = body_limits[data[0] % 4];
    user_stream user(burrow::fuzz::as_text(data + 2, size - 2), data[1]);

    // The connection's per-exchange arena (http_connection's arena_).
    std::array<std::byte, 4096> arena_space;
    std::pmr::monotonic_buffer_resource arena{arena_space.data(), arena_space.size()};
    beast::flat_buffer buffer;
    for (int exchange = 0; exchange < 64; ++exchange) {
        arena.release();
        auto parser = make_parser<request_parser>(arena);
        parser.header_limit(max_request_header);
        if (body_limit > 0)
            parser.body_limit(body_limit);
        else
            parser.body_limit(boost::none);
        auto ec = parse_header(buffer, parser);  // a pipelined request
        while (ec == http::error::need_more) {
            ec = read_more(user, buffer, parser);
            if (!ec) ec = parse_header(buffer, parser);
        }
        if (ec) break;  // 431, 413, 400 or the end: the connection closes
        if (serve(parser, table, user, buffer) == next::close) break;
    }
    return 0;
}
