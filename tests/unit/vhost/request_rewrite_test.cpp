// A user's request header as the service gets it: parsed from the bytes a user
// sends, rewritten by write_request_head(), compared with what must go out.
#include "server/vhost/request_rewrite.hpp"

#include <memory_resource>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "server/vhost/table.hpp"

namespace burrow::vhost {
namespace {

// A request header parsed as the connection parses it (fields in an arena).
class parsed {
public:
    explicit parsed(std::string_view text) : parser_(make_parser<request_parser>(arena_)) {
        boost::system::error_code ec;
        parser_.put(boost::asio::buffer(text.data(), text.size()), ec);
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_TRUE(parser_.is_header_done());
    }
    const request& get() const { return parser_.get(); }

private:
    std::pmr::monotonic_buffer_resource arena_;
    request_parser parser_;
};

// What goes to the service for `text`, routed by `host` from 192.0.2.7.
std::string rewritten(std::string_view text, const target& proxy = {},
                      std::string_view path = "/x", std::string_view host = "nas.example.com") {
    parsed req(text);
    const auto connection = connection_tokens(req.get());
    std::string out = "stale";
    write_request_head(req.get(), connection, path, proxy, {host, "192.0.2.7"},
                       is_real_upgrade(req.get(), connection), out);
    return out;
}

TEST(request_rewrite, says_who_the_user_is_after_the_users_fields) {
    EXPECT_EQ(rewritten("GET http://nas.example.com/a/../x HTTP/1.1\r\n"
                        "Host: NAS.example.com\r\n"
                        "Accept: */*\r\n"
                        "\r\n"),
              "GET /x HTTP/1.1\r\n"
              "Host: nas.example.com\r\n"
              "Accept: */*\r\n"
              "X-Forwarded-For: 192.0.2.7\r\n"
              "X-Forwarded-Proto: http\r\n"
              "X-Forwarded-Host: nas.example.com\r\n"
              "X-Real-IP: 192.0.2.7\r\n"
              "\r\n");
}

TEST(request_rewrite, earlier_proxies_chain_in_x_forwarded_for_other_claims_go) {
    EXPECT_EQ(rewritten("GET / HTTP/1.1\r\nHost: h\r\n"
                        "X-Forwarded-For: 10.0.0.1\r\n"
                        "X-Real-IP: 1.2.3.4\r\n"
                        "Forwarded: for=1.2.3.4\r\n"
                        "X-Forwarded-Host: evil\r\n"
                        "X-Forwarded-Proto: https\r\n"
                        "X-Forwarded-For: 10.0.0.2, 10.0.0.3\r\n"
                        "\r\n"),
              "GET /x HTTP/1.1\r\n"
              "Host: nas.example.com\r\n"
              "X-Forwarded-For: 10.0.0.1, 10.0.0.2, 10.0.0.3, 192.0.2.7\r\n"
              "X-Forwarded-Proto: http\r\n"
              "X-Forwarded-Host: nas.example.com\r\n"
              "X-Real-IP: 192.0.2.7\r\n"
              "\r\n");
}

TEST(request_rewrite, hop_by_hop_underscored_and_connection_named_fields_go) {
    const auto out = rewritten("POST / HTTP/1.1\r\nHost: h\r\n"
                               "Connection: keep-alive, X-Secret, Content-Length, "
                               "X-Forwarded-For\r\n"
                               "Keep-Alive: timeout=5\r\n"
                               "TE: trailers\r\n"
                               "X-Secret: 1\r\n"
                               "X_Real_IP: 6.6.6.6\r\n"
                               "X-Forwarded-For: 10.0.0.1\r\n"
                               "Content-Length: 0\r\n"
                               "Upgrade: websocket\r\n"
                               "\r\n");
    EXPECT_EQ(out,
              "POST /x HTTP/1.1\r\n"
              "Host: nas.example.com\r\n"
              "Content-Length: 0\r\n"  // protected: Connection cannot remove it
              "X-Forwarded-For: 192.0.2.7\r\n"  // a named X-Forwarded-For is not chained
              "X-Forwarded-Proto: http\r\n"
              "X-Forwarded-Host: nas.example.com\r\n"
              "X-Real-IP: 192.0.2.7\r\n"
              "\r\n");
}

TEST(request_rewrite, the_proxy_sets_host_authorization_and_headers) {
    target proxy;
    proxy.host_header_rewrite = "127.0.0.1:8080";
    proxy.authorization = "Basic dTpw";
    proxy.request_headers = {{"X-From", "burrow"}, {"accept", "text/plain"}};
    EXPECT_EQ(rewritten("GET / HTTP/1.1\r\nHost: h\r\n"
                        "Authorization: Basic dTpw\r\n"
                        "Accept: */*\r\n"
                        "Cookie: a=1\r\n"
                        "\r\n",
                        proxy, "/?q=1"),
              "GET /?q=1 HTTP/1.1\r\n"
              "Host: 127.0.0.1:8080\r\n"
              "Cookie: a=1\r\n"
              "X-Forwarded-For: 192.0.2.7\r\n"
              "X-Forwarded-Proto: http\r\n"
              "X-Forwarded-Host: nas.example.com\r\n"
              "X-Real-IP: 192.0.2.7\r\n"
              "X-From: burrow\r\n"
              "accept: text/plain\r\n"
              "\r\n");
    // Without Burrow's own credentials the user's go on.
    EXPECT_NE(rewritten("GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer t\r\n\r\n")
                  .find("Authorization: Bearer t\r\n"),
              std::string::npos);
}

TEST(request_rewrite, http_1_0_keeps_the_upstream_open) {
    EXPECT_EQ(rewritten("GET / HTTP/1.0\r\nConnection: close\r\n\r\n", {}, "/", "h"),
              "GET / HTTP/1.0\r\n"
              "Host: h\r\n"
              "X-Forwarded-For: 192.0.2.7\r\n"
              "X-Forwarded-Proto: http\r\n"
              "X-Forwarded-Host: h\r\n"
              "X-Real-IP: 192.0.2.7\r\n"
              "Connection: keep-alive\r\n"
              "\r\n");
}

TEST(request_rewrite, a_real_upgrade_goes_on_as_one) {
    const std::string websocket = "GET /ws HTTP/1.1\r\nHost: h\r\n"
                                  "Connection: Upgrade\r\nUpgrade: websocket\r\n"
                                  "Sec-WebSocket-Key: k\r\n\r\n";
    const auto out = rewritten(websocket, {}, "/ws");
    EXPECT_NE(out.find("Sec-WebSocket-Key: k\r\n"), std::string::npos);
    EXPECT_TRUE(out.ends_with("X-Real-IP: 192.0.2.7\r\n"
                              "Connection: upgrade\r\n"
                              "Upgrade: websocket\r\n"
                              "\r\n"))
        << out;
}

TEST(request_rewrite, h2c_and_half_asked_upgrades_are_not_upgrades) {
    const auto upgrade = [](std::string_view text) {
        parsed req(text);
        return is_real_upgrade(req.get(), connection_tokens(req.get()));
    };
    EXPECT_TRUE(upgrade("GET / HTTP/1.1\r\nConnection: keep-alive, upgrade\r\n"
                        "Upgrade: websocket\r\n\r\n"));
    EXPECT_FALSE(upgrade("GET / HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                         "Upgrade: h2c\r\nHTTP2-Settings: x\r\n\r\n"));
    EXPECT_FALSE(upgrade("GET / HTTP/1.1\r\nConnection: upgrade\r\n"
                         "Upgrade: websocket, H2C\r\n\r\n"));
    EXPECT_FALSE(upgrade("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"));
    EXPECT_FALSE(upgrade("GET / HTTP/1.1\r\nConnection: upgrade\r\n\r\n"));
}

TEST(request_rewrite, connection_tokens_of_every_connection_field) {
    parsed req("GET / HTTP/1.1\r\nConnection: a, b\r\nConnection: c\r\n\r\n");
    const auto tokens = connection_tokens(req.get());
    ASSERT_EQ(tokens.size(), 3u);
    EXPECT_EQ(tokens[0], "a");
    EXPECT_EQ(tokens[1], "b");
    EXPECT_EQ(tokens[2], "c");
}

TEST(request_rewrite, framing_of_counts_and_keeps_the_first_of_each) {
    parsed req("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n");
    const auto f = framing_of(req.get());
    EXPECT_EQ(f.version, 11);
    EXPECT_EQ(f.cl_count, 2u);
    EXPECT_EQ(f.cl, "5");
    EXPECT_EQ(f.te_count, 0u);
    EXPECT_FALSE(request_framing_problem(f).empty());

    parsed chunked("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    const auto g = framing_of(chunked.get());
    EXPECT_EQ(g.te_count, 1u);
    EXPECT_EQ(g.te, "chunked");
    EXPECT_TRUE(request_framing_problem(g).empty());
}

// The refusal of `text`, or nullopt; `where` gets the routed target (its
// `query` points into the request, which is gone on return).
std::optional<refusal> refused(std::string_view text, request_target& where) {
    parsed req(text);
    return refuse_request(req.get(), where);
}

TEST(request_rewrite, a_plain_request_is_routed_by_its_normalised_target) {
    request_target where;
    {
        parsed req("GET /a/../b?q=1 HTTP/1.1\r\nHost: h\r\n\r\n");  // `query` points into it
        EXPECT_FALSE(refuse_request(req.get(), where));
        EXPECT_EQ(where.path, "/b");
        EXPECT_EQ(where.query, "q=1");
    }
    EXPECT_TRUE(where.authority.empty());

    EXPECT_FALSE(refused("GET http://nas.example.com/x HTTP/1.1\r\nHost: h\r\n\r\n", where));
    EXPECT_EQ(where.authority, "nas.example.com");
    EXPECT_EQ(where.path, "/x");

    EXPECT_FALSE(refused("CONNECT nas.example.com:443 HTTP/1.1\r\nHost: h\r\n\r\n", where));
    EXPECT_EQ(where.path, "/");

    EXPECT_FALSE(refused("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", where));
    EXPECT_TRUE(where.asterisk);
    // HTTP/1.0 has no Host requirement.
    EXPECT_FALSE(refused("GET / HTTP/1.0\r\n\r\n", where));
}

TEST(request_rewrite, ambiguous_requests_are_refused_with_the_reason) {
    request_target where;
    const auto framing = refused(
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", where);
    ASSERT_TRUE(framing);
    EXPECT_EQ(framing->detail, "The request framing is invalid.");
    EXPECT_FALSE(framing->log.empty());

    for (const auto* text :
         {"GET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"}) {
        const auto hosts = refused(text, where);
        ASSERT_TRUE(hosts) << text;
        EXPECT_EQ(hosts->detail, "The request needs exactly one Host header.");
    }

    const auto auth = refused(
        "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Basic a\r\nAuthorization: Basic b\r\n\r\n",
        where);
    ASSERT_TRUE(auth);
    EXPECT_EQ(auth->detail, "The request has more than one Authorization header.");
}

TEST(request_rewrite, targets_that_cannot_be_routed_safely_are_refused) {
    request_target where;
    const auto slash = refused("GET /a%2Fb HTTP/1.1\r\nHost: h\r\n\r\n", where);
    ASSERT_TRUE(slash);
    EXPECT_EQ(slash->detail, "The request target is invalid.");
    EXPECT_NE(slash->log.find("'/a%2Fb'"), std::string::npos) << slash->log;

    const auto asterisk = refused("GET * HTTP/1.1\r\nHost: h\r\n\r\n", where);
    ASSERT_TRUE(asterisk);
    EXPECT_NE(asterisk->log.find("asterisk"), std::string::npos) << asterisk->log;
}

}  // namespace
}  // namespace burrow::vhost
