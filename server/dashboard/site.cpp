#include "server/dashboard/site.hpp"

#include <charconv>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <fmt/format.h>

#include "common/heap_release.hpp"
#include "common/host_names.hpp"
#include "common/log.hpp"
#include "server/client_session.hpp"
#include "server/dashboard/api.hpp"
#include "server/dashboard/assets.hpp"
#include "server/server_state.hpp"

namespace burrow::dashboard {

namespace http = boost::beast::http;
using status = http::status;

namespace {

spdlog::logger& dash_log() {
    static spdlog::logger& l = log::get("dashboard");
    return l;
}

// The page runs only its own files: no inline script or style, no other origin.
constexpr std::string_view csp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

response make(const request& req, status s, std::string body, std::string_view type) {
    response res{s, req.version()};
    res.set(http::field::server, "burrow");
    res.set(http::field::content_type, type);
    res.set("Content-Security-Policy", csp);
    res.set("X-Content-Type-Options", "nosniff");
    res.set("X-Frame-Options", "DENY");
    res.set("Referrer-Policy", "no-referrer");
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

response json(const request& req, status s, std::string body) {
    return make(req, s, std::move(body), "application/json");
}

response error(const request& req, status s, std::string_view message) {
    return json(req, s, error_json(message));
}

// A browser's own fetch (Sec-Fetch-Mode cors/same-origin) gets no basic-auth
// challenge, so the page shows its login form instead of the browser's dialog.
response unauthorized(const request& req) {
    auto res = error(req, status::unauthorized, "login required");
    const auto mode = req[http::field::sec_fetch_mode];
    if (mode.empty() || mode == "navigate")
        res.set(http::field::www_authenticate, "Basic realm=\"burrow dashboard\", charset=\"UTF-8\"");
    return res;
}

bool header_has(std::string_view value, std::string_view token) {
    return value.find(token) != std::string_view::npos;
}

// "/api/v1/sessions/17/close" with prefix "/api/v1/sessions/" and suffix
// "/close" -> "17".
std::optional<std::string_view> middle(std::string_view path, std::string_view prefix,
                                       std::string_view suffix) {
    if (path.size() <= prefix.size() + suffix.size() || !path.starts_with(prefix) ||
        !path.ends_with(suffix))
        return std::nullopt;
    return path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
}

// %XX decoding of a path segment or query value; nullopt on a bad escape.
std::optional<std::string> percent_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] != '%') {
            out += s[i];
        } else {
            unsigned v = 0;
            if (i + 2 >= s.size()) return std::nullopt;
            auto r = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
            if (r.ec != std::errc{} || r.ptr != s.data() + i + 3) return std::nullopt;
            out += static_cast<char>(v);
            i += 2;
        }
    }
    return out;
}

// The value of `key` in a query string.
std::optional<std::string> query_value(std::string_view query, std::string_view key) {
    while (!query.empty()) {
        const auto end = std::min(query.find('&'), query.size());
        auto pair = query.substr(0, end);
        query.remove_prefix(std::min(end + 1, query.size()));
        const auto eq = pair.find('=');
        if (eq != std::string_view::npos && pair.substr(0, eq) == key)
            return percent_decode(pair.substr(eq + 1));
    }
    return std::nullopt;
}

// A POST from another site's page carries its Origin: refused whatever else it has.
bool same_origin(const request& req) {
    const auto origin = req[http::field::origin];
    if (origin.empty()) return true;
    const auto host = req[http::field::host];
    return origin == fmt::format("http://{}", std::string_view(host.data(), host.size()));
}

}  // namespace

site::site(server_state& st)
    : st_(st), access_(st.config.dashboard.user, st.config.dashboard.password) {}

response site::handle(const request& req, const boost::asio::ip::address& from) {
    const std::string_view target(req.target().data(), req.target().size());
    const auto q = target.find('?');
    const auto path = target.substr(0, q);
    if (path == "/healthz") return make(req, status::ok, "ok\n", "text/plain; charset=utf-8");
    if (path.starts_with("/api/") || path == "/metrics") return api(req, target, from);
    return file(req, path);
}

response site::file(const request& req, std::string_view path) {
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
        auto res = make(req, status::method_not_allowed, "method not allowed\n", "text/plain");
        res.set(http::field::allow, "GET, HEAD");
        return res;
    }
    if (path == "/") path = "/index.html";
    for (const auto& a : embedded_assets()) {
        if (a.path != path) continue;
        const auto match = req[http::field::if_none_match];
        const bool gz = !a.gzip.empty() && header_has(req[http::field::accept_encoding], "gzip");
        auto res = make(req, match == a.etag ? status::not_modified : status::ok,
                        match == a.etag ? std::string() : std::string(gz ? a.gzip : a.body),
                        a.type);
        res.set(http::field::cache_control, "no-cache");
        res.set(http::field::etag, a.etag);
        res.set(http::field::vary, "Accept-Encoding");
        if (gz && res.result() == status::ok) res.set(http::field::content_encoding, "gzip");
        if (req.method() == http::verb::head) {
            const auto n = res.body().size();
            res.body().clear();
            res.content_length(n);
        }
        return res;
    }
    return make(req, status::not_found, "not found\n", "text/plain; charset=utf-8");
}

response site::api(const request& req, std::string_view target, const boost::asio::ip::address& from) {
    const auto q = target.find('?');
    const auto path = target.substr(0, q);
    const auto query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
    const auto now = access::clock::now();
    const bool post = req.method() == http::verb::post;
    if (!post && req.method() != http::verb::get) {
        auto res = error(req, status::method_not_allowed, "method not allowed");
        res.set(http::field::allow, "GET, POST");
        return res;
    }
    if (path == "/api/v1/login") {
        if (!post) return error(req, status::method_not_allowed, "use POST");
        return login(req, from);
    }
    auto who = access_.check(req[http::field::authorization], req[http::field::cookie], from, now);
    if (!who) {
        if (!req[http::field::authorization].empty()) {
            login_failures_.fetch_add(1, std::memory_order_relaxed);
            if (auto wait = access_.blocked_for(from, now); wait.count() > 0) {
                auto res = error(req, status::too_many_requests,
                                 fmt::format("too many failed logins; try again in {} s", wait.count()));
                res.set(http::field::retry_after, std::to_string(wait.count()));
                return res;
            }
            dash_log().warn("basic auth failed from {}", from.to_string());
        }
        return unauthorized(req);
    }
    if (post) return action(req, path, *who);

    const auto view = [&] {
        overview o;
        o.totals = st_.live.totals();
        o.uptime_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - st_.started).count();
        o.dashboard_login_failures = login_failures_.load(std::memory_order_relaxed);
        o.heap_in_use = heap_in_use();
        return o;
    };
    if (path == "/api/v1/session") {
        const char* how = who->by == access::how::cookie  ? "cookie"
                          : who->by == access::how::basic ? "basic"
                                                          : "none";
        return json(req, status::ok, session_json(how, access_.user(), who->csrf));
    }
    if (path == "/api/v1/overview") return json(req, status::ok, overview_json(view()));
    if (path == "/api/v1/clients") return json(req, status::ok, clients_json(st_.live.clients()));
    if (path == "/api/v1/proxies") return json(req, status::ok, proxies_json(st_.live.proxies()));
    if (path == "/api/v1/sessions")
        return json(req, status::ok, sessions_json(st_.live.sessions()));
    if (path == "/api/v1/traffic") {
        auto name = query_value(query, "proxy");
        if (!name) return error(req, status::bad_request, "traffic needs ?proxy=NAME");
        auto t = st_.live.traffic(*name);
        if (!t) return error(req, status::not_found, "no such proxy");
        return json(req, status::ok, traffic_json(*name, *t));
    }
    if (path == "/metrics") {
        auto res = make(req, status::ok,
                        metrics_text(view(), st_.live.clients(), st_.live.proxies()),
                        "text/plain; version=0.0.4; charset=utf-8");
        return res;
    }
    return error(req, status::not_found, "no such API");
}

response site::login(const request& req, const boost::asio::ip::address& from) {
    // A cross-site form cannot send JSON without asking first (CORS), and is
    // never let: so a login cannot be forced on a user either.
    const auto type = req[http::field::content_type];
    if (!type.starts_with("application/json"))
        return error(req, status::unsupported_media_type, "send JSON: {\"user\":...,\"password\":...}");
    if (!same_origin(req)) return error(req, status::forbidden, "cross-origin request refused");
    if (access_.open()) return json(req, status::ok, login_json(""));
    auto c = parse_login(req.body());
    if (!c) return error(req, status::bad_request, "send JSON: {\"user\":...,\"password\":...}");
    auto r = access_.login(c->user, c->password, from, access::clock::now());
    if (r.outcome == access::login_result::limited) {
        login_failures_.fetch_add(1, std::memory_order_relaxed);
        auto res = error(req, status::too_many_requests,
                         fmt::format("too many failed logins; try again in {} s",
                                     r.retry_after.count()));
        res.set(http::field::retry_after, std::to_string(r.retry_after.count()));
        dash_log().warn("login from {} refused: too many failures", from.to_string());
        return res;
    }
    if (r.outcome == access::login_result::wrong) {
        login_failures_.fetch_add(1, std::memory_order_relaxed);
        // The user name is untrusted: escaped and cut; the password never logged.
        dash_log().warn("login failed from {} (user '{}')", from.to_string(),
                        printable(c->user.substr(0, 64)));
        return error(req, status::unauthorized, "wrong user or password");
    }
    dash_log().info("login from {} (user '{}')", from.to_string(), printable(c->user.substr(0, 64)));
    auto res = json(req, status::ok, login_json(r.csrf));
    res.set(http::field::set_cookie,
            fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}", access::cookie_name,
                        r.cookie_value, 24 * 3600));
    return res;
}

response site::action(const request& req, std::string_view path, const access::pass& who) {
    const auto token = req["X-CSRF-Token"];
    if (!same_origin(req) ||
        !access::check_csrf(who, token, req.find("X-CSRF-Token") != req.end()))
        return error(req, status::forbidden, "missing or wrong X-CSRF-Token header");
    if (path == "/api/v1/logout") {
        access_.logout(req[http::field::cookie]);
        auto res = json(req, status::ok, "{}");
        res.set(http::field::set_cookie,
                fmt::format("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0", access::cookie_name));
        return res;
    }
    if (auto id = middle(path, "/api/v1/sessions/", "/close")) {
        std::uint64_t n = 0;
        auto r = std::from_chars(id->data(), id->data() + id->size(), n);
        if (r.ec != std::errc{} || r.ptr != id->data() + id->size())
            return error(req, status::bad_request, "a session id is a number");
        if (!st_.live.close(n, "closed from the dashboard"))
            return error(req, status::not_found, "no such session");
        dash_log().info("session {} closed from the dashboard", n);
        return json(req, status::ok, "{\"ok\":true}");
    }
    if (auto raw = middle(path, "/api/v1/clients/", "/kick")) {
        auto id = percent_decode(*raw);
        if (!id) return error(req, status::bad_request, "bad client id");
        auto runs = st_.runs_of(*id);
        if (runs.empty()) return error(req, status::not_found, "no such client");
        for (auto& r : runs) r->kick("kicked from the dashboard");
        dash_log().info("client {} kicked from the dashboard", printable(*id));
        return json(req, status::ok, "{\"ok\":true}");
    }
    return error(req, status::not_found, "no such API");
}

}  // namespace burrow::dashboard
