// The HTTP vhost against hostile users: request smuggling, auth bypass by
// path tricks, absolute-form targets, hop-by-hop headers and CONNECT (slow
// bodies, long responses and the start-up grace are in http_timing_test.cpp).
// Real burrow-server and burrow-client processes; users are raw sockets and
// curl; services are nginx, the Python app of http_test and a raw-socket
// Python server that frames requests as RFC 9112 says a server must (so it is
// the one a smuggled message would fool) and logs every request line it
// parsed (raw_peer, in http_peers.hpp, with the other peers).
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "http_peers.hpp"

namespace burrow::e2e {
namespace {

// ---- 1. request framing: no request a strict service could read differently ----

TEST(http_security, ambiguous_request_framing_gets_400_and_never_reaches_the_service) {
    raw_peer service;
    vhost_lab v;
    auto client = v.client(proxy("nas", service.port(), domains(R"("nas.test")")), {"nas"});
    const std::string chunks = "3\r\nabc\r\n0\r\n\r\n", cl = std::to_string(chunks.size());
    struct bad_case {
        std::string what, version, fields, body;
    };
    const std::vector<bad_case> cases{
        {"chunked twice + Content-Length", "1.1",
         "Transfer-Encoding: chunked, chunked\r\nContent-Length: " + cl + "\r\n", chunks},
        {"chunked twice", "1.1", "Transfer-Encoding: chunked, chunked\r\n", chunks},
        {"empty list element", "1.1", "Transfer-Encoding: ,chunked\r\n", chunks},
        {"two TE lines", "1.1", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
         chunks},
        {"gzip, chunked", "1.1", "Transfer-Encoding: gzip, chunked\r\n", chunks},
        {"gzip + Content-Length", "1.1", "Transfer-Encoding: gzip\r\nContent-Length: 3\r\n",
         "abc"},
        {"chunked on HTTP/1.0", "1.0", "Transfer-Encoding: chunked\r\n", chunks},
        {"chunked + Content-Length", "1.1",
         "Transfer-Encoding: chunked\r\nContent-Length: " + cl + "\r\n", chunks},
        {"Content-Length list", "1.1", "Content-Length: 3, 3\r\n", "abc"},
        {"two Content-Length lines", "1.1", "Content-Length: 3\r\nContent-Length: 3\r\n", "abc"},
        {"signed Content-Length", "1.1", "Content-Length: +3\r\n", "abc"},
    };
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const auto& c = cases[i];
        SCOPED_TRACE(c.what);
        const auto r = round_trip(v.http_port,
                                "POST /framing-" + std::to_string(i) + " HTTP/" + c.version +
                                    "\r\nHost: nas.test\r\n" + c.fields + "\r\n" + c.body,
                                5s);
        EXPECT_EQ(r.reply.status, 400) << r;
        EXPECT_TRUE(r.closed) << r;
    }
    // Plain uploads of either kind still go through; once they are answered,
    // the service would have logged any refused request that reached it.
    const auto data = random_bytes(10000, 31);
    const auto chunked = round_trip(v.http_port,
                                  "POST /upload-chunked HTTP/1.1\r\nHost: nas.test\r\n"
                                  "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                                      chunked_body(data, 3000));
    EXPECT_EQ(chunked.reply.status, 200) << chunked;
    EXPECT_EQ(chunked.reply.body, raw_peer::answer("POST", "/upload-chunked", data)) << chunked;
    const auto sized = round_trip(v.http_port,
                                "POST /upload-sized HTTP/1.1\r\nHost: nas.test\r\nContent-Length: " +
                                    std::to_string(data.size()) + "\r\nConnection: close\r\n\r\n" +
                                    data);
    EXPECT_EQ(sized.reply.status, 200) << sized;
    EXPECT_EQ(sized.reply.body, raw_peer::answer("POST", "/upload-sized", data)) << sized;
    EXPECT_EQ(service.seen().find("/framing-"), npos) << service.seen();
}

// The classic CL.TE attack: the vhost must not frame by Content-Length what the
// service frames as chunked, or the tail becomes the start of the next user's request.
TEST(http_security, a_smuggled_request_never_reaches_the_next_user) {
    raw_peer service;
    vhost_lab v;
    auto client = v.client(proxy("nas", service.port(), domains(R"("nas.test")")), {"nas"});
    const std::string tail = "0\r\n\r\nGET /smuggled HTTP/1.1\r\nX: ";
    const auto attack = round_trip(v.http_port,
                                 "POST / HTTP/1.1\r\nHost: nas.test\r\n"
                                 "Transfer-Encoding: chunked, chunked\r\nContent-Length: " +
                                     std::to_string(tail.size()) + "\r\n\r\n" + tail,
                                 5s);
    EXPECT_EQ(attack.reply.status, 400) << attack;
    // A few victims, so that one of them would get the connection the attacker left behind.
    for (int i = 0; i < 3; ++i) {
        const auto victim = round_trip(
            v.http_port, get_closing("/victim", "nas.test", "Cookie: session=victim-secret\r\n"));
        EXPECT_EQ(victim.reply.status, 200) << victim;
        EXPECT_EQ(victim.reply.body, raw_peer::answer("GET", "/victim")) << victim;
    }
    EXPECT_EQ(service.seen().find("/smuggled"), npos) << service.seen();
}

TEST(http_security, ambiguous_response_framing_gets_502_and_the_next_request_is_served) {
    raw_peer service;
    vhost_lab v;
    auto client = v.client(proxy("nas", service.port(), domains(R"("nas.test")")), {"nas"});
    for (const auto* target : {"/resp/te-cl", "/resp/cl-list"}) {
        SCOPED_TRACE(target);
        const auto bad = round_trip(v.http_port, get_closing(target, "nas.test"));
        EXPECT_EQ(bad.reply.status, 502) << bad;
        EXPECT_EQ(bad.reply.body.find("hello"), npos) << bad;
        const auto next = round_trip(v.http_port, get_closing("/next", "nas.test"));
        EXPECT_EQ(next.reply.status, 200) << next;
        EXPECT_EQ(next.reply.body, raw_peer::answer("GET", "/next")) << next;
    }
}

// ---- 2. a location's basic auth cannot be walked around by spelling the path differently ----

TEST(http_security, basic_auth_on_a_location_holds_for_every_spelling_of_its_path) {
    nginx_peer nas;
    const auto page = random_bytes(512, 32);
    const auto secret = "secret-" + sha256_hex(random_bytes(32, 33)) + "\n";
    nas.put("index.html", page);
    nas.put("admin/secret.txt", secret);
    nas.start("");
    vhost_lab v;
    auto client = v.client(
        proxy("nas", nas.port(), domains(R"("nas.test")")) +
            proxy("nas-admin", nas.port(),
                  domains(R"("nas.test")") +
                      "\nlocations = [\"/admin\"]\nhttp_user = \"u\"\nhttp_password = \"p\""),
        {"nas", "nas-admin"});
    const auto get = [&](const std::string& target, const std::string& more = "") {
        return round_trip(v.http_port, get_closing(target, "nas.test", more));
    };
    for (const auto& [target, status] : std::vector<std::pair<std::string, int>>{
             {"/admin/secret.txt", 401},
             {"//admin/secret.txt", 401},
             {"/./admin/secret.txt", 401},
             {"/x/../admin/secret.txt", 401},
             {"/%61dmin/secret.txt", 401},
             {"/%2e/admin/secret.txt", 401},
             {"/x/%2e%2e/admin/secret.txt", 401},
             {"/admin;x/secret.txt", 401},
             {"http://nas.test//admin/secret.txt", 401},
             {"/admin%2fsecret.txt", 400},
             {"/admin%2Fsecret.txt", 400},
             {"/admin%5csecret.txt", 400},
             {"/admin\\secret.txt", 400},
             // Servlet containers read these as /admin (the "..;" trick).
             {"/x/..;/admin/secret.txt", 400},
             {"/.;/admin/secret.txt", 400},
             {"/;x/admin/secret.txt", 400},
             {"/x/%2e%2e;/admin/secret.txt", 400}}) {
        SCOPED_TRACE(target);
        const auto r = get(target);
        EXPECT_EQ(r.reply.status, status) << r;
        EXPECT_EQ(r.bytes.find(secret), npos) << r;
    }
    for (const auto* target : {"/admin/secret.txt", "//admin/secret.txt"}) {
        SCOPED_TRACE(target);
        const auto r = get(target, "Authorization: Basic dTpw\r\n");  // u:p
        EXPECT_EQ(r.reply.status, 200) << r;
        EXPECT_EQ(sha256_hex(r.reply.body), sha256_hex(secret)) << r;
    }
    const auto index = get("/index.html");
    EXPECT_EQ(index.reply.status, 200) << index;
    EXPECT_EQ(sha256_hex(index.reply.body), sha256_hex(page));
}

TEST(http_security, the_service_sees_the_normalised_path_and_the_query_as_sent) {
    app_peer app("app");
    vhost_lab v;
    auto client = v.client(proxy("app", app.port(), domains(R"("app.test")")), {"app"});
    for (const auto& [target, seen] : std::vector<std::pair<std::string, std::string>>{
             {"/a//b/./c/../d?q=1%2F", "/a/b/d?q=1%2F"}, {"/%7Euser", "/~user"}}) {
        SCOPED_TRACE(target);
        const auto r = round_trip(v.http_port, get_closing(target, "app.test"));
        EXPECT_TRUE(served_by(r.reply, "app"));
        EXPECT_NE(r.reply.body.find("\npath=" + seen + "\n"), npos) << r;
    }
}

// ---- 3. absolute-form targets are routed by their authority ----

TEST(http_security, an_absolute_form_target_is_routed_by_its_authority_not_the_host_header) {
    app_peer nas("nas");
    vhost_lab v;
    auto client = v.client(proxy("nas", nas.port(), domains(R"("nas.test")")), {"nas"});
    const auto internal = round_trip(v.http_port, get_closing("http://internal.test/", "nas.test"));
    EXPECT_EQ(internal.reply.status, 404) << internal;
    EXPECT_EQ(internal.reply.body.find("backend="), npos) << internal;

    const auto absolute = round_trip(v.http_port, get_closing("http://nas.test/x?y", "other.test"));
    ASSERT_TRUE(served_by(absolute.reply, "nas"));
    EXPECT_NE(absolute.reply.body.find("\npath=/x?y\n"), npos) << absolute;
    EXPECT_NE(absolute.reply.body.find("\nhost: nas.test\n"), npos) << absolute;
    EXPECT_EQ(absolute.reply.body.find("other.test"), npos) << absolute;

    for (const auto* target : {"ftp://nas.test/", "http://user@nas.test/"}) {
        SCOPED_TRACE(target);
        const auto r = round_trip(v.http_port, get_closing(target, "nas.test"));
        EXPECT_EQ(r.reply.status, 400) << r;
        EXPECT_EQ(r.reply.body.find("backend="), npos) << r;
    }
}

// ---- 4. hop-by-hop headers stop at the vhost; the ones it sets cannot be removed ----

// The echoed request header lines of app_peer's body named `name` (lowercase).
std::vector<std::string> echoed(const http_reply& r, const std::string& name) {
    std::vector<std::string> values;
    const auto want = "\n" + name + ": ";
    for (auto at = r.body.find(want); at != npos; at = r.body.find(want, at + 1)) {
        const auto from = at + want.size();
        values.push_back(r.body.substr(from, r.body.find('\n', from) - from));
    }
    return values;
}

TEST(http_security, hop_by_hop_headers_do_not_reach_the_service_and_forwarding_headers_stay) {
    app_peer app("hop");
    vhost_lab v;
    auto client = v.client(proxy("hop", app.port(), domains(R"("hop.test")")), {"hop"});
    keep_alive_user user(v.http_port);
    const auto r = user.send(
        "GET /hop HTTP/1.1\r\nHost: hop.test\r\n"
        "Connection: keep-alive, X-Forwarded-For, X-Real-IP, X-Secret\r\n"
        "X-Secret: 1\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\n"
        "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"
        "X_Real_IP: 6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\n\r\n");
    ASSERT_TRUE(served_by(r, "hop"));
    EXPECT_EQ(echoed(r, "x-real-ip"), std::vector<std::string>{"127.0.0.1"}) << r;
    const auto xff = echoed(r, "x-forwarded-for");
    ASSERT_EQ(xff.size(), 1u) << r;
    EXPECT_TRUE(xff[0].ends_with("127.0.0.1")) << r;
    EXPECT_EQ(echoed(r, "x-forwarded-proto").size(), 1u) << r;
    EXPECT_EQ(echoed(r, "x-forwarded-host").size(), 1u) << r;
    for (const auto* gone : {"x-secret", "keep-alive", "proxy-connection", "te", "upgrade",
                             "http2-settings", "x_real_ip", "forwarded"})
        EXPECT_TRUE(echoed(r, gone).empty()) << gone << "\n" << r;
    EXPECT_TRUE(served_by(user.get("hop.test", "/again"), "hop"));
}

TEST(http_security, connection_cannot_strip_content_length_from_a_request) {
    app_peer app("up");
    vhost_lab v;
    auto client = v.client(proxy("up", app.port(), domains(R"("up.test")")), {"up"});
    const auto data = random_bytes(5000, 34);
    keep_alive_user user(v.http_port);
    const auto r = user.send("POST /upload HTTP/1.1\r\nHost: up.test\r\nConnection: Content-Length\r\n"
                             "Content-Length: " + std::to_string(data.size()) + "\r\n\r\n" + data);
    ASSERT_TRUE(served_by(r, "up"));
    EXPECT_NE(r.body.find("\nbody=5000 " + sha256_hex(data) + "\n"), npos) << r;
}

// ---- 5. CONNECT ----

TEST(http_security, odd_targets_hosts_and_two_authorizations_get_400) {
    app_peer app("odd");
    vhost_lab v;
    auto client = v.client(proxy("odd", app.port(),
                                 domains(R"("odd.test")") +
                                     "\nhttp_user = \"u\"\nhttp_password = \"p\""),
                           {"odd"});
    const std::string auth = "Authorization: Basic dTpw\r\n";  // u:p
    for (const auto& request : {
             "GET * HTTP/1.1\r\nHost: odd.test\r\n" + auth + "\r\n",
             "GET / HTTP/1.1\r\nHost: odd.test:99999\r\n" + auth + "\r\n",
             "GET / HTTP/1.1\r\nHost: odd.test:80x\r\n" + auth + "\r\n",
             "GET / HTTP/1.1\r\nHost: odd.test\r\n" + auth + "Authorization: Basic eDp5\r\n\r\n",
             "GET / HTTP/1.1\r\nHost: odd.test\r\nAuthorization: Basic eDp5\r\n" + auth + "\r\n"}) {
        SCOPED_TRACE(request);
        EXPECT_EQ(status_of(raw_request(v.http_port, request)), 400);
    }
    // OPTIONS * is the asterisk form's one use.
    const auto options = raw_request(
        v.http_port, "OPTIONS * HTTP/1.1\r\nHost: odd.test\r\n" + auth + "\r\n");
    EXPECT_EQ(status_of(options), 501) << options;  // Python's http.server has no do_OPTIONS
    EXPECT_TRUE(served_by(v.get("odd.test", "/fine", {"-u", "u:p"}), "odd"));
}

TEST(http_security, an_endless_chunk_line_or_trailer_is_refused_without_buffering_it) {
    app_peer app("chunks");
    vhost_lab v;
    auto client = v.client(proxy("chunks", app.port(), domains(R"("chunks.test")")), {"chunks"});
    const long before = proc_status(v.lab.server().pid(), "VmRSS");
    const std::string filler(1 << 20, 'a');
    for (const std::string start : {"5;ext=", "0\r\nX-Trailer: "}) {
        SCOPED_TRACE(start);
        const int fd = connect_tcp(v.http_port);
        ASSERT_GE(fd, 0);
        fd_deadline guard(fd, 20s);
        const std::string head =
            "POST /up HTTP/1.1\r\nHost: chunks.test\r\nTransfer-Encoding: chunked\r\n\r\n" +
            start;
        ASSERT_TRUE(send_all(fd, head.data(), head.size()));
        // 64 MiB of one line, or until the server stops taking it.
        for (int i = 0; i < 64 && send_all(fd, filler.data(), filler.size()); ++i) {
        }
        const auto answer = read_head(fd);
        EXPECT_EQ(status_of(answer), 400) << answer;
        ::close(fd);
    }
    const long after = proc_status(v.lab.server().pid(), "VmRSS");
    EXPECT_LT(after - before, 16 * 1024) << "KiB grown: " << after - before;
    EXPECT_TRUE(served_by(v.get("chunks.test", "/still-there"), "chunks"));
}

TEST(http_security, connect_to_an_http_proxy_gets_405_and_opens_no_tunnel) {
    raw_peer service;
    vhost_lab v;
    auto client = v.client(proxy("nas", service.port(), domains(R"("nas.test")")), {"nas"});
    const int fd = connect_tcp(v.http_port);
    ASSERT_GE(fd, 0);
    const std::string request = "CONNECT nas.test:443 HTTP/1.1\r\nHost: nas.test\r\n\r\nping";
    ASSERT_TRUE(send_all(fd, request.data(), request.size()));
    const auto head = read_head(fd, 5s);
    EXPECT_EQ(status_of(head), 405) << head;
    const auto rest = read_to_close(fd, 3s);
    close(fd);
    EXPECT_EQ(rest.bytes.find("ping"), npos) << rest;
    // Once a later request is answered, the service has logged all it saw.
    const auto next = round_trip(v.http_port, get_closing("/next", "nas.test"));
    EXPECT_EQ(next.reply.body, raw_peer::answer("GET", "/next")) << next;
    EXPECT_EQ(service.seen().find("CONNECT"), npos) << service.seen();
    EXPECT_EQ(service.seen().find("piped"), npos) << service.seen();
}

TEST(http_security, connect_through_a_proxy_that_allows_it_is_a_byte_pipe) {
    raw_peer service;
    vhost_lab v;
    auto client = v.client(
        proxy("tunnel", service.port(), domains(R"("tunnel.test")") + "\nallow_connect = true"),
        {"tunnel"});
    const int fd = connect_tcp(v.http_port);
    ASSERT_GE(fd, 0);
    fd_deadline guard(fd, 10s);
    const std::string request = "CONNECT tunnel.test:443 HTTP/1.1\r\nHost: tunnel.test\r\n\r\n";
    ASSERT_TRUE(send_all(fd, request.data(), request.size()));
    const auto head = read_head(fd, 5s);
    EXPECT_EQ(status_of(head), 200) << head;
    ASSERT_TRUE(send_all(fd, "ping", 4));
    std::string echoed;
    char c;
    while (echoed.size() < 4 && ::recv(fd, &c, 1, 0) == 1) echoed += c;
    close(fd);
    EXPECT_EQ(echoed, "ping");
    EXPECT_NE(service.seen().find("CONNECT tunnel.test:443 HTTP/1.1\n"), npos) << service.seen();
}

// ---- 6. small ones ----

TEST(http_security, basic_auth_scheme_is_case_insensitive_and_a_wrong_password_is_refused) {
    app_peer app("private");
    vhost_lab v;
    auto client = v.client(
        proxy("private", app.port(),
              domains(R"("private.test")") + "\nhttp_user = \"u\"\nhttp_password = \"p\""),
        {"private"});
    const auto with = [&](const std::string& authorization) {
        return round_trip(v.http_port,
                        get_closing("/", "private.test", "Authorization: " + authorization + "\r\n"))
            .reply;
    };
    EXPECT_TRUE(served_by(with("basic dTpw"), "private"));  // u:p
    EXPECT_TRUE(served_by(with("BASIC dTpw"), "private"));
    const auto wrong = with("Basic dTp3cm9uZw==");  // u:wrong
    EXPECT_EQ(wrong.status, 401) << wrong;
    EXPECT_EQ(wrong.body.find("backend="), npos) << wrong;
}

TEST(http_security, http_1_0_request_with_two_host_headers_gets_400) {
    error_lab e;
    for (const auto* hosts : {"Host: ok.test\r\nHost: ok.test\r\n",
                              "Host: ok.test\r\nHost: other.test\r\n"}) {
        const auto r = round_trip(e.v.http_port, std::string("GET / HTTP/1.0\r\n") + hosts + "\r\n");
        EXPECT_EQ(r.reply.status, 400) << hosts << r;
        EXPECT_EQ(r.reply.body.find("backend="), npos) << r;
    }
    e.expect_healthy();
}

// The service answers an upgrade request with a plain 200: the connection
// stays HTTP, and a request pipelined behind it gets its own answer.
TEST(http_security, a_declined_upgrade_leaves_a_pipelined_request_its_own_response) {
    app_peer app("a");
    vhost_lab v;
    auto client = v.client(proxy("a", app.port(), domains(R"("a.test")")), {"a"});
    keep_alive_user user(v.http_port);
    const auto first = user.send(
        "GET /upgrade HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        "\r\nGET /second HTTP/1.1\r\nHost: a.test\r\n\r\n");
    ASSERT_TRUE(served_by(first, "a"));
    EXPECT_NE(first.body.find("\npath=/upgrade\n"), npos) << first;
    const auto second = user.read();
    ASSERT_TRUE(served_by(second, "a"));
    EXPECT_NE(second.body.find("\npath=/second\n"), npos) << second;
}

TEST(http_security, an_unrequested_101_from_the_service_gets_502) {
    raw_peer service;
    vhost_lab v;
    auto client = v.client(proxy("nas", service.port(), domains(R"("nas.test")")), {"nas"});
    const auto r = round_trip(v.http_port, get_closing("/switch", "nas.test"), 5s);
    EXPECT_EQ(r.reply.status, 502) << r;
    const auto next = round_trip(v.http_port, get_closing("/next", "nas.test"));
    EXPECT_EQ(next.reply.body, raw_peer::answer("GET", "/next")) << next;
}

}  // namespace
}  // namespace burrow::e2e
