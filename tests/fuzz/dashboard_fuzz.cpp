// The dashboard's request parsing (server/dashboard/): requests on one
// connection read as dashboard.cpp reads them (Beast's request_parser with
// string_body, 8 KiB of header, 16 KiB of body), then what site.cpp does with
// who is asking: access::check() on Authorization (basic auth) and Cookie
// (cookie_value()), the login's JSON body (api.hpp parse_login()) and
// access::login(), the CSRF check of a POST and the logout. site.cpp itself
// needs the whole server (server_state), so its flow for /api/ is mirrored
// here in a few lines; its own helpers (percent_decode, query_value, middle)
// are private to it and not reached (see tests/fuzz/README.md).
//
// Input: one byte (which of two addresses asks), then the bytes of the
// connection: requests one after another.
//
// Properties:
// - basic auth lets in only the right user and password, decoded here
//   independently of OpenSSL; a cookie lets in only a login's cookie that
//   was not logged out; a login succeeds only with the right pair;
// - after 5 failed logins from an address, neither basic auth nor a login
//   from it succeeds (the window does not pass: time stands still here);
// - a POST passes the CSRF check only with the login's token (cookie) or the
//   header present (basic);
// - cookie_value() returns a value from the header, without ';';
// - parse_login()'s strings go back into JSON (session_json(), login_json())
//   and read back the same.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>

#include "fuzz_check.hpp"
#include "server/dashboard/access.hpp"
#include "server/dashboard/api.hpp"

namespace burrow {
// access.cpp's only tie to the rest of the server (common/net_util.cpp, which
// brings logging and signals): cookie values and CSRF tokens. Here they are
// a counter from 0 for each input, so that a crash reproduces (and a seed
// can log in, then use the cookie "1aaa..." and the token "2aaa...").
std::uint64_t random_hex_calls = 0;
std::string random_hex(std::size_t bytes) {
    std::string out = std::to_string(++random_hex_calls);
    out.resize(bytes * 2, 'a');
    return out;
}
}  // namespace burrow

namespace burrow::dashboard {
namespace {

namespace http = boost::beast::http;
using request = http::request<http::string_body>;

constexpr std::string_view user = "admin";
constexpr std::string_view password = "fuzz-password";
constexpr std::size_t header_limit = 8 << 10;  // dashboard.cpp
constexpr std::size_t body_limit = 16 << 10;

std::string_view sv(boost::beast::string_view s) { return {s.data(), s.size()}; }

// RFC 4648 base64, read here without OpenSSL: trailing '=' only, and the
// unused bits of the last character ignored (as decoders do).
std::optional<std::string> base64(std::string_view in) {
    if (in.empty() || in.size() % 4 != 0) return std::nullopt;
    std::size_t pad = 0;
    while (pad < 2 && !in.empty() && in[in.size() - 1 - pad] == '=') ++pad;
    std::string out;
    std::uint32_t bits = 0;
    int count = 0;
    for (std::size_t i = 0; i < in.size() - pad; ++i) {
        const char c = in[i];
        int v = c >= 'A' && c <= 'Z'   ? c - 'A'
                : c >= 'a' && c <= 'z' ? c - 'a' + 26
                : c >= '0' && c <= '9' ? c - '0' + 52
                : c == '+'             ? 62
                : c == '/'             ? 63
                                       : -1;
        if (v < 0) return std::nullopt;
        bits = bits << 6 | static_cast<std::uint32_t>(v);
        if ((count += 6) >= 8) {
            count -= 8;
            out += static_cast<char>((bits >> count) & 0xFF);
        }
    }
    return out;
}

// "Basic <base64>" (scheme in any case, spaces around the credentials).
std::optional<std::string> basic(std::string_view header) {
    if (header.size() <= 6 || header.size() > 1024) return std::nullopt;
    for (std::size_t i = 0; i < 6; ++i)
        if (std::tolower(static_cast<unsigned char>(header[i])) != "basic "[i]) return std::nullopt;
    header.remove_prefix(6);
    while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
    while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
    return base64(header);
}

struct state {
    access gate{std::string(user), std::string(password)};
    access::clock::time_point now = access::clock::time_point{} + std::chrono::hours(100);
    std::map<std::string, std::string, std::less<>> cookies;  // issued, not logged out: csrf
    std::map<std::string, int> strikes;                      // failed logins we know of
};

std::string json_string(const boost::json::value& v, std::string_view key) {
    const auto* s = v.as_object().if_contains(key);
    FUZZ_CHECK(s != nullptr && s->is_string());
    return std::string(s->get_string());
}

void handle(state& st, const request& req, const boost::asio::ip::address& from) {
    const auto target = sv(req.target());
    const auto path = target.substr(0, target.find('?'));
    const auto authorization = sv(req[http::field::authorization]);
    const auto cookie_header = sv(req[http::field::cookie]);
    const auto address = from.to_string();

    const auto cookie = cookie_value(cookie_header, access::cookie_name);
    if (!cookie.empty()) {
        FUZZ_CHECK(cookie_header.find(cookie) != std::string_view::npos);
        FUZZ_CHECK(cookie.find(';') == std::string_view::npos);
    }

    if (path == "/api/v1/login" && req.method() == http::verb::post) {
        const auto c = parse_login(req.body());
        if (!c) return;
        const auto back = boost::json::parse(session_json("basic", c->user, c->password));
        FUZZ_CHECK(json_string(back, "user") == c->user && json_string(back, "csrf") == c->password);
        const auto r = st.gate.login(c->user, c->password, from, st.now);
        const bool right = c->user == user && c->password == password;
        if (st.strikes[address] >= 5) FUZZ_CHECK(r.outcome == access::login_result::limited);
        if (r.outcome == access::login_result::ok) {
            FUZZ_CHECK(right);
            FUZZ_CHECK(!r.cookie_value.empty() && !r.csrf.empty());
            FUZZ_CHECK(json_string(boost::json::parse(login_json(r.csrf)), "csrf") == r.csrf);
            st.cookies[r.cookie_value] = r.csrf;
            st.strikes.erase(address);
        } else if (r.outcome == access::login_result::wrong) {
            FUZZ_CHECK(!right);
            ++st.strikes[address];
        }
        return;
    }
    if (!path.starts_with("/api/") && path != "/metrics") return;

    const auto who = st.gate.check(authorization, cookie_header, from, st.now);
    if (!who) return;
    if (who->by == access::how::cookie) {
        const auto it = st.cookies.find(cookie);
        FUZZ_CHECK(it != st.cookies.end() && it->second == who->csrf);
    } else {
        FUZZ_CHECK(who->by == access::how::basic);
        FUZZ_CHECK(st.strikes[address] < 5);
        const auto credentials = basic(authorization);
        FUZZ_CHECK(credentials && *credentials == std::string(user) + ":" + std::string(password));
    }
    if (req.method() != http::verb::post) return;
    const auto token = sv(req["X-CSRF-Token"]);
    const bool present = req.find("X-CSRF-Token") != req.end();
    const bool passes = access::check_csrf(*who, token, present);
    if (who->by == access::how::cookie)
        FUZZ_CHECK(passes == (present && !token.empty() && token == who->csrf));
    else
        FUZZ_CHECK(passes == (present && !token.empty()));
    if (passes && path == "/api/v1/logout") {
        st.gate.logout(cookie_header);
        st.cookies.erase(std::string(cookie));
        FUZZ_CHECK(!st.gate.check("", cookie_header, from, st.now));
    }
}

}  // namespace
}  // namespace burrow::dashboard

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace burrow::dashboard;
    if (size < 1) return 0;
    static const std::array<boost::asio::ip::address, 2> addresses{
        boost::asio::ip::make_address("192.0.2.1"), boost::asio::ip::make_address("2001:db8::2")};
    burrow::random_hex_calls = 0;
    state st;
    std::string_view rest = burrow::fuzz::as_text(data + 1, size - 1);
    for (int i = 0; i < 16 && !rest.empty(); ++i) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(header_limit);
        parser.body_limit(body_limit);
        parser.eager(true);
        boost::system::error_code ec;
        const auto used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
        rest.remove_prefix(used);
        if (ec == http::error::need_more) parser.put_eof(ec);
        if (ec || !parser.is_done()) break;  // 400 or 413, and the connection closes
        handle(st, parser.get(), addresses[(data[0] >> i) & 1]);
    }
    return 0;
}
