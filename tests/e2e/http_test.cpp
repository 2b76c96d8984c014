// HTTP vhost end to end: real burrow-server and burrow-client processes, curl
// and raw sockets as users, nginx and a small Python HTTP server as the home
// services, Beast for keep-alive and WebSocket peers. Everything on 127.0.0.1;
// host names reach the vhost port through curl --resolve or a Host header.
// The peers, users and labs are in http_peers.hpp (http_security_test shares them).
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <future>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

#include "harness.hpp"
#include "http_peers.hpp"

namespace burrow::e2e {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
using tcp = boost::asio::ip::tcp;

// ---- 1. a NAS web UI ----

TEST(http, nginx_page_and_50_mib_file_arrive_intact_through_the_vhost) {
    nginx_peer nas;
    const auto page = random_bytes(1024, 21), file = random_bytes(50u << 20, 22);
    nas.put("index.html", page);
    nas.put("big.bin", file);
    nas.start("");
    vhost_lab v;
    auto client = v.client(proxy("nas", nas.port(), domains(R"("nas.test")")), {"nas"});

    const auto small = v.get("nas.test", "/index.html");
    EXPECT_EQ(small.status, 200) << small;
    EXPECT_EQ(sha256_hex(small.body), sha256_hex(page));
    const auto big = v.get("nas.test", "/big.bin");
    EXPECT_EQ(big.status, 200) << big;
    EXPECT_EQ(big.body.size(), file.size());
    EXPECT_EQ(sha256_hex(big.body), sha256_hex(file));
}

TEST(http, a_user_who_does_not_read_makes_no_one_buffer_the_response) {
    // The user asks for a large file and reads nothing: what the server and
    // the client hold for it stays bounded (two frames each way and gRPC's
    // window), whatever the file's size. Once the user reads, all of it arrives.
    nginx_peer nas;
    const auto file = random_bytes(256u << 20, 24);
    nas.put("big.bin", file);
    nas.start("");
    vhost_lab v;
    auto client = v.client(proxy("nas", nas.port(), domains(R"("nas.test")")), {"nas"});
    const int pids[2] = {v.lab.server().pid(), client->pid()};
    long before[2], now[2];
    for (int i = 0; i < 2; ++i) before[i] = now[i] = proc_status(pids[i], "VmRSS");

    boost::asio::io_context io;
    tcp::socket user(io);
    user.open(tcp::v4());
    user.set_option(boost::asio::socket_base::receive_buffer_size(64 << 10));
    user.connect({boost::asio::ip::make_address("127.0.0.1"), v.http_port});
    const std::string request = "GET /big.bin HTTP/1.1\r\nHost: nas.test\r\n\r\n";
    boost::asio::write(user, boost::asio::buffer(request));

    // The path is full once neither process's memory moves for a second.
    int steady = 0;
    for (const auto until = clock_type::now() + 30s; steady < 10 && clock_type::now() < until;) {
        std::this_thread::sleep_for(100ms);
        bool moved = false;
        for (int i = 0; i < 2; ++i) {
            const long rss = proc_status(pids[i], "VmRSS");
            moved = moved || std::abs(rss - now[i]) > 256;
            now[i] = rss;
        }
        steady = moved ? 0 : steady + 1;
    }
    EXPECT_EQ(steady, 10) << "memory kept moving while the user read nothing";
    EXPECT_LT(now[0] - before[0], 64 << 10) << "the server holds " << (now[0] - before[0])
                                             << " KiB for a user who does not read";
    EXPECT_LT(now[1] - before[1], 64 << 10) << "the client holds " << (now[1] - before[1])
                                             << " KiB for a user who does not read";

    fd_deadline guard(user.native_handle(), 60s);
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(boost::none);
    beast::error_code ec;
    bhttp::read(user, buffer, parser, ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(parser.get().result_int(), 200);
    EXPECT_EQ(parser.get().body().size(), file.size());
    EXPECT_EQ(sha256_hex(parser.get().body()), sha256_hex(file));
}

// ---- 2. streaming request bodies ----

TEST(http, chunked_100_mib_upload_arrives_intact) {
    app_peer upload("upload");
    vhost_lab v;
    auto client = v.client(proxy("up", upload.port(), domains(R"("up.test")")), {"up"});
    temp_dir d;
    const auto data = random_bytes(100u << 20, 23);
    write_text(d.file("data.bin"), data);

    const auto r =
        v.get("up.test", "/upload", {"-T", d.file("data.bin"), "-H", "Transfer-Encoding: chunked"});
    ASSERT_TRUE(served_by(r, "upload"));
    EXPECT_NE(r.body.find("\ntransfer-encoding: chunked\n"), npos) << r;
    EXPECT_NE(r.body.find("\nbody=104857600 " + sha256_hex(data) + "\n"), npos) << r;
}

// ---- 3. routing ----

TEST(http, two_proxies_on_their_own_domains) {
    app_peer a("a"), b("b");
    vhost_lab v;
    auto client = v.client(proxy("a", a.port(), domains(R"("a.test", "*.wild.test")")) +
                               proxy("b", b.port(), R"(subdomain = "b")"),
                           {"a", "b"});
    EXPECT_TRUE(served_by(v.get("a.test"), "a"));
    EXPECT_TRUE(served_by(v.get("x.wild.test"), "a"));
    EXPECT_TRUE(served_by(v.get("b.lab.test"), "b"));
    EXPECT_TRUE(served_by(v.get("A.TEST"), "a"));  // host names are case-insensitive
    EXPECT_EQ(v.get("wild.test").status, 404);     // a wildcard needs one more label
}

TEST(http, two_proxies_on_one_domain_by_location) {
    app_peer web("web"), api("api");
    vhost_lab v;
    auto client = v.client(
        proxy("web", web.port(), domains(R"("site.test")")) +
            proxy("api", api.port(), domains(R"("site.test")") + "\nlocations = [\"/api\"]"),
        {"web", "api"});
    EXPECT_TRUE(served_by(v.get("site.test", "/"), "web"));
    EXPECT_TRUE(served_by(v.get("site.test", "/about.html"), "web"));
    EXPECT_TRUE(served_by(v.get("site.test", "/api"), "api"));
    EXPECT_TRUE(served_by(v.get("site.test", "/apiary"), "web"));  // whole path segments
    const auto deep = v.get("site.test", "/api/v1/users?id=7");
    EXPECT_TRUE(served_by(deep, "api"));
    EXPECT_NE(deep.body.find("\npath=/api/v1/users?id=7\n"), npos) << deep;
}

TEST(http, one_keep_alive_connection_alternates_between_two_proxies) {
    app_peer a("a"), b("b");
    vhost_lab v;
    auto client = v.client(
        proxy("a", a.port(), domains(R"("a.test")")) + proxy("b", b.port(), domains(R"("b.test")")),
        {"a", "b"});
    keep_alive_user user(v.http_port);
    for (int i = 0; i < 10; ++i) {
        const std::string name = i % 2 ? "b" : "a", path = "/n" + std::to_string(i);
        const auto r = user.get(name + ".test", path);
        ASSERT_TRUE(served_by(r, name)) << "request " << i;
        EXPECT_NE(r.body.find("\npath=" + path + "\n"), npos) << r;
        EXPECT_NE(lower(r.header("Connection")), "close") << r;
    }
}

// Users who close after each request (Connection: close, one curl each) still
// share one connection to the service: the user's Connection header is
// hop-by-hop, and the idle upstream waits in the pool for the next user.
// The vhost only finds where a message ends and passes its bytes on: a
// chunked response with chunk extensions and a trailer arrives as sent, and
// both connections, the user's and the one to the service, carry the next
// request.
TEST(http, chunked_response_with_trailer_arrives_as_sent_and_both_connections_go_on) {
    app_peer a("a");
    vhost_lab v;
    auto client = v.client(proxy("a", a.port(), domains(R"("a.test")")), {"a"});
    const auto peer_of = [](const http_reply& r) {
        const auto at = r.body.find("\npeer=");
        return at == npos ? std::string() : r.body.substr(at, r.body.find('\n', at + 1) - at);
    };
    keep_alive_user user(v.http_port);
    std::string first_peer;
    for (int i = 0; i < 3; ++i) {
        const auto chunked = user.get("a.test", "/chunked" + std::to_string(i));
        ASSERT_TRUE(served_by(chunked, "a")) << "request " << i;
        EXPECT_NE(chunked.body.find("\npath=/chunked" + std::to_string(i) + "\n"), npos) << chunked;
        EXPECT_EQ(lower(chunked.header("Transfer-Encoding")), "chunked") << chunked;
        EXPECT_EQ(chunked.header("X-Digest"), sha256_hex(chunked.body)) << chunked;
        const auto sized = user.get("a.test", "/after" + std::to_string(i));
        ASSERT_TRUE(served_by(sized, "a")) << "request " << i;
        if (i == 0) first_peer = peer_of(chunked);
        EXPECT_FALSE(first_peer.empty()) << chunked;
        EXPECT_EQ(peer_of(chunked), first_peer) << "request " << i << " came on a new connection";
        EXPECT_EQ(peer_of(sized), first_peer) << "request " << i << " came on a new connection";
    }
}

// The raw bytes of a chunked answer, framing and all, as the user receives them.
TEST(http, chunked_response_framing_reaches_the_user_unchanged) {
    app_peer a("a");
    vhost_lab v;
    auto client = v.client(proxy("a", a.port(), domains(R"("a.test")")), {"a"});
    const auto r = v.get("a.test", "/chunked", {"--raw"});
    ASSERT_EQ(r.status, 200) << r;
    EXPECT_EQ(r.body.rfind("7;at=0\r\nbackend", 0), 0u) << r;
    EXPECT_NE(r.body.find("\r\n7;at=7\r\n"), npos) << r;
    EXPECT_NE(r.body.find("\r\n0\r\nX-Digest: "), npos) << r;
}

// A response header is passed on as it came, except a field value folded
// over lines (obsolete): a proxy must unfold it (RFC 9112 5.2).
TEST(http, a_folded_response_header_reaches_the_user_unfolded) {
    app_peer a("a");
    vhost_lab v;
    auto client = v.client(proxy("a", a.port(), domains(R"("a.test")")), {"a"});
    const auto r = v.get("a.test", "/folded");
    ASSERT_TRUE(served_by(r, "a"));
    EXPECT_EQ(r.headers.find("\r\n second"), npos) << r;
    EXPECT_EQ(r.header("X-Folded").substr(0, 5), "first") << r;
    EXPECT_NE(r.header("X-Folded").find("second"), npos) << r;
}

TEST(http, users_who_close_share_one_connection_to_the_service) {
    app_peer a("a");
    vhost_lab v;
    auto client = v.client(proxy("a", a.port(), domains(R"("a.test")")), {"a"});
    std::string first_peer;
    for (int i = 0; i < 5; ++i) {
        const auto r = v.get("a.test", "/", {"-H", "Connection: close"});
        ASSERT_TRUE(served_by(r, "a")) << "request " << i;
        EXPECT_EQ(lower(r.header("Connection")), "close") << r;     // the user's choice stands
        EXPECT_EQ(r.body.find("\nconnection: close"), npos) << r;  // not passed to the service
        const auto at = r.body.find("\npeer=");
        ASSERT_NE(at, npos) << r;
        const auto peer = r.body.substr(at, r.body.find('\n', at + 1) - at);
        if (i == 0) first_peer = peer;
        EXPECT_EQ(peer, first_peer) << "request " << i << " came on a new connection";
    }
}

// Burrow's own answers (404, 401, 400, 431, 502) on a connection that already
// carried a proxied exchange: the request gets its own response, and after a
// 404 or 401 the connection goes on serving.
TEST(http, own_error_answers_on_a_reused_keep_alive_connection) {
    app_peer a("a");
    vhost_lab v;
    auto client = v.client(
        proxy("a", a.port(), domains(R"("a.test")")) +
            proxy("private", a.port(),
                  domains(R"("private.test")") + "\nhttp_user = \"u\"\nhttp_password = \"p\"") +
            proxy("dead", free_port(), domains(R"("dead.test")")),
        {"a", "private", "dead"});
    const auto get = [](const std::string& host) {
        return "GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
    };
    const std::string big(40 * 1024, 'b');
    for (const auto& [request, status] :
         std::vector<std::pair<std::string, int>>{{get("nobody.test"), 404},
                                                  {get("private.test"), 401},
                                                  {"GET / HTTP/1.1\r\n\r\n", 400},
                                                  {get("a.test\r\nX-Big: " + big), 431},
                                                  {get("dead.test"), 502}}) {
        SCOPED_TRACE("expecting " + std::to_string(status));
        keep_alive_user user(v.http_port, 3s);
        ASSERT_TRUE(served_by(user.get("a.test", "/before"), "a"));
        const auto r = user.send(request);
        EXPECT_EQ(r.status, status) << r;
        if (r.status == status && (status == 404 || status == 401)) {
            EXPECT_TRUE(served_by(user.get("a.test", "/after"), "a"));
        }
    }
}

// ---- 4. basic auth ----

TEST(http, basic_auth_guards_the_proxy_and_stays_on_the_server) {
    app_peer app("private");
    vhost_lab v;
    auto client =
        v.client(proxy("private", app.port(),
                       domains(R"("private.test")") + "\nhttp_user = \"u\"\nhttp_password = \"p\""),
                 {"private"});
    for (const auto& credentials : std::vector<std::vector<std::string>>{{}, {"-u", "u:wrong"}}) {
        const auto denied = v.get("private.test", "/", credentials);
        EXPECT_EQ(denied.status, 401) << denied;
        EXPECT_NE(denied.header("WWW-Authenticate").find(R"(Basic realm="burrow")"), npos)
            << denied;
        EXPECT_EQ(denied.body.find("backend="), npos) << denied;
    }
    const auto allowed = v.get("private.test", "/", {"-u", "u:p"});
    EXPECT_TRUE(served_by(allowed, "private"));
    EXPECT_EQ(lower(allowed.body).find("authorization"), npos) << allowed;
}

// ---- 5. header rewriting ----

TEST(http, request_and_response_headers_are_rewritten) {
    app_peer app("rw");
    vhost_lab v;
    auto client = v.client(
        proxy("rw", app.port(),
              domains(R"("rw.test")") + "\nhost_header_rewrite = \"backend.local\"\n"
                                        "request_headers = { \"X-From\" = \"burrow\" }\n"
                                        "response_headers = { \"X-Served-By\" = \"burrow\" }"),
        {"rw"});
    const auto r =
        v.get("rw.test", "/", {"-H", "X-From: user", "-H", "X-Forwarded-For: 198.51.100.7"});
    ASSERT_TRUE(served_by(r, "rw"));
    for (const auto& line :
         {"host: backend.local", "x-from: burrow", "x-forwarded-for: 198.51.100.7, 127.0.0.1",
          "x-forwarded-proto: http", "x-real-ip: 127.0.0.1"})
        EXPECT_NE(r.body.find(std::string("\n") + line + "\n"), npos) << line << "\n" << r;
    EXPECT_NE(r.body.find("\nx-forwarded-host: rw.test:" + std::to_string(v.http_port) + "\n"),
              npos)
        << r;
    EXPECT_EQ(r.body.find("x-from: user"), npos) << r;
    EXPECT_EQ(r.header("X-Served-By"), "burrow") << r;
    EXPECT_EQ(r.header("X-Backend"), "rw") << r;
}

// ---- 6. WebSocket ----

TEST(http, websocket_echoes_1000_messages_in_order) {
    tcp_service echo([](int fd) {
        boost::asio::io_context io;
        websocket::stream<tcp::socket> ws(io);
        ws.next_layer().assign(tcp::v4(), ::dup(fd));
        fd_deadline guard(fd, 30s);
        beast::error_code e;
        ws.accept(e);
        for (beast::flat_buffer b; !e; b.consume(b.size())) {
            ws.read(b, e);
            ws.binary(ws.got_binary());
            if (!e) ws.write(b.data(), e);
        }
    });
    vhost_lab v;
    auto client = v.client(proxy("ws", echo.port(), domains(R"("ws.test")")), {"ws"});

    boost::asio::io_context io;
    websocket::stream<tcp::socket> ws(io);
    ws.next_layer().connect({boost::asio::ip::address_v4::loopback(), v.http_port});
    fd_deadline guard(ws.next_layer().native_handle(), 30s);
    ws.handshake("ws.test:" + std::to_string(v.http_port), "/echo");
    ws.binary(true);
    beast::flat_buffer b;
    for (int i = 0; i < 1000; ++i) {
        const auto msg = std::to_string(i) + ":" +
                         random_bytes(i % 100 == 0 ? 65536 : 16 + i, static_cast<std::uint32_t>(i));
        ws.write(boost::asio::buffer(msg));
        ws.read(b);
        ASSERT_EQ(beast::buffers_to_string(b.data()), msg) << "message " << i;
        b.consume(b.size());
    }
    ws.close(websocket::close_code::normal);
    EXPECT_EQ(echo.accepted(), 1);
}

// ---- 7. errors: each answered, and the server serves the next user ----

TEST(http, unknown_host_gets_404_naming_no_domain) {
    error_lab e;
    const auto r = e.v.get("nobody.test");
    EXPECT_EQ(r.status, 404) << r;
    EXPECT_EQ(r.body.find("ok.test"), npos) << r;
    EXPECT_EQ(r.body.find("lab.test"), npos) << r;
    e.expect_healthy();
}

TEST(http, local_service_refusing_gets_502) {
    error_lab e("", proxy("dead", free_port(), domains(R"("dead.test")")), {"dead"});
    const auto r = e.v.get("dead.test");
    EXPECT_EQ(r.status, 502) << r;
    e.expect_healthy();
}

TEST(http, offline_client_gets_502_until_it_comes_back) {
    // Without resumption: a client that is gone is gone at once (with it, its
    // run waits resume_timeout for it: resume_test.cpp).
    error_lab e("resume_timeout = 0");
    app_peer app("gone");
    const auto gone_proxy = proxy("gone", app.port(), domains(R"("gone.test")"));
    auto gone = e.v.client(gone_proxy, {"gone"});
    EXPECT_TRUE(served_by(e.v.get("gone.test"), "gone"));
    gone->kill(SIGKILL);
    gone->wait_exit();
    ASSERT_TRUE(e.v.lab.server().wait_log(R"(\[gone\] proxy down)")) << e.v.lab.server().log();
    const auto r = e.v.get("gone.test");
    EXPECT_EQ(r.status, 502) << r;
    e.expect_healthy();
    // The home box reconnects and takes its domain back.
    auto back = e.v.client(gone_proxy, {"gone"});
    EXPECT_TRUE(served_by(e.v.get("gone.test"), "gone"));
}

TEST(http, silent_service_gets_504_after_response_timeout) {
    tcp_service silent([](int fd) { recv_all(fd, 10s); });  // reads, never answers
    error_lab e("",
                proxy("slow", silent.port(), domains(R"("slow.test")") + "\nresponse_timeout = 2"),
                {"slow"});
    const auto start = clock_type::now();
    const auto r = e.v.get("slow.test");
    const auto waited = clock_type::now() - start;
    EXPECT_EQ(r.status, 504) << r;
    EXPECT_GE(waited, 1900ms);
    EXPECT_LT(waited, 6s);
    e.expect_healthy();
}

TEST(http, malformed_requests_get_400) {
    error_lab e;
    for (const auto* bytes : {"GARBAGE\r\n\r\n", "GET / HTTP/1.1\r\nUser-Agent: x\r\n\r\n",
                              "GET / HTTP/1.1\r\nHost: ok.test\r\nHost: ok.test\r\n\r\n"}) {
        const auto head = raw_request(e.v.http_port, bytes);
        EXPECT_EQ(status_of(head), 400) << bytes << " got:\n" << head;
    }
    e.expect_healthy();
}

TEST(http, header_over_32_kib_gets_431) {
    error_lab e;
    const auto r = e.v.get("ok.test", "/", {"-H", "X-Big: " + std::string(40 * 1024, 'b')});
    EXPECT_EQ(r.status, 431) << r;
    e.expect_healthy();
}

TEST(http, body_over_vhost_max_body_size_gets_413) {
    error_lab e("vhost_max_body_size = 1024\n");
    temp_dir d;
    write_text(d.file("4k"), random_bytes(4096, 24));
    const auto sized = e.v.get("ok.test", "/upload", {"--data-binary", "@" + d.file("4k")});
    EXPECT_EQ(sized.status, 413) << sized;
    const auto chunked =
        e.v.get("ok.test", "/upload",
                {"--data-binary", "@" + d.file("4k"), "-H", "Transfer-Encoding: chunked"});
    EXPECT_EQ(chunked.status, 413) << chunked;
    const auto small = e.v.get("ok.test", "/upload", {"--data-binary", "exactly-fine"});
    EXPECT_TRUE(served_by(small, "ok"));
    e.expect_healthy();
}

// ---- 8. slowloris ----

TEST(http, slow_header_is_cut_off_while_others_are_served) {
    error_lab e("vhost_header_timeout = 2\n");
    const int fd = connect_tcp(e.v.http_port);
    ASSERT_GE(fd, 0);
    const std::string partial = "GET / HTTP/1.1\r\nHost: ok.test\r\nX-Slow: ";
    ASSERT_TRUE(send_all(fd, partial.data(), partial.size()));
    const auto start = clock_type::now();
    auto cut = std::async(std::launch::async, [fd, start] {
        auto got = recv_all(fd, 8s);  // until the server closes
        return std::pair{got, clock_type::now() - start};
    });
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(served_by(e.v.get("ok.test", "/meanwhile"), "ok"));
    const auto [got, waited] = cut.get();
    close(fd);
    EXPECT_GE(waited, 1500ms);
    EXPECT_LT(waited, 5s) << "the slow connection was not closed";
    EXPECT_TRUE(got.empty() || status_of(got) == 408) << got;
    e.expect_healthy();
}

// ---- 9. https passthrough by SNI ----

std::string sha256_fingerprint_of_pem(const std::string& command) {
    const auto r =
        run({"/bin/sh", "-c", command + " | openssl x509 -noout -fingerprint -sha256"}, 20s);
    return r.code == 0 ? r.output : "(failed) " + r.output;
}

TEST(http, https_is_passed_through_by_sni_to_the_services_certificate) {
    nginx_peer secure;
    const auto key = secure.dir().file("key.pem"), cert = secure.dir().file("cert.pem");
    const auto made = run({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                           "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                           "/CN=secure.test", "-keyout", key, "-out", cert});
    ASSERT_EQ(made.code, 0) << made.output;
    const auto page = random_bytes(4096, 25);
    secure.put("index.html", page);
    secure.start("ssl_certificate " + cert + ";\nssl_certificate_key " + key + ";", "ssl");
    const auto https_port = free_port();
    vhost_lab v("vhost_https_port = " + std::to_string(https_port) + "\n");
    ASSERT_TRUE(v.lab.server().wait_log(R"(https vhost listening on 127\.0\.0\.1:)" +
                                        std::to_string(https_port)))
        << v.lab.server().log();
    auto client =
        v.client(proxy("secure", secure.port(), domains(R"("secure.test")"), "https"), {"secure"});

    const auto r = curl(https_port, "secure.test", "/index.html", {"-k"}, "https");
    EXPECT_EQ(r.status, 200) << r;
    EXPECT_EQ(sha256_hex(r.body), sha256_hex(page));
    const auto s_client =
        "openssl s_client -connect 127.0.0.1:" + std::to_string(https_port) + " -servername ";
    const auto expected = sha256_fingerprint_of_pem("cat " + cert);
    EXPECT_NE(expected.find("Fingerprint="), npos) << expected;
    EXPECT_EQ(sha256_fingerprint_of_pem(s_client + "secure.test </dev/null 2>/dev/null"), expected);

    const auto unknown = run({"/bin/sh", "-c", s_client + "other.test </dev/null 2>&1"}, 20s);
    EXPECT_NE(unknown.code, 0) << unknown.output;
    EXPECT_EQ(unknown.output.find("BEGIN CERTIFICATE"), npos) << unknown.output;
    EXPECT_TRUE(v.lab.server().running());
    EXPECT_EQ(curl(https_port, "secure.test", "/index.html", {"-k"}, "https").status, 200);
}

// ---- 10. a domain belongs to one proxy ----

TEST(http, second_client_claiming_a_held_domain_is_rejected_for_that_proxy_only) {
    app_peer first("first"), second("second");
    vhost_lab v;
    auto holder = v.client(proxy("first", first.port(), domains(R"("taken.test")")), {"first"});
    auto late = v.client(proxy("second", second.port(), domains(R"("taken.test")")) +
                             proxy("other", second.port(), domains(R"("free.test")")),
                         {"other"});
    const auto why = burrow_lab::proxy_event(*late, "second", "rejected");
    ASSERT_TRUE(why) << late->log();
    EXPECT_NE(why->find("taken.test"), npos) << *why;
    EXPECT_NE(why->find("already used by proxy 'first'"), npos) << *why;
    EXPECT_EQ(late->count_log(R"(\[second\] proxy up)"), 0) << late->log();
    EXPECT_TRUE(late->running());
    EXPECT_TRUE(served_by(v.get("taken.test"), "first"));
    EXPECT_TRUE(served_by(v.get("free.test"), "second"));
}

}  // namespace
}  // namespace burrow::e2e
