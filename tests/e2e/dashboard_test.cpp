// The dashboard of a real burrow-server, with a real client and real traffic:
// its JSON API, /metrics, access and CSRF, hostile requests, and the page in
// headless Chromium (tests/web/dashboard_test.mjs).
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

// Boost.JSON, compiled into this test only. Its array relocation trips GCC
// 12's -Warray-bounds and -Wstringop-overflow once inlined under -fsanitize
// (a false positive in the library's code, not ours).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#include <boost/json/src.hpp>
#pragma GCC diagnostic pop
#include <gtest/gtest.h>

#include "harness.hpp"
#include "http_peers.hpp"
#include "visit_peers.hpp"

namespace burrow::e2e {
namespace {

namespace json = boost::json;
constexpr const char* password = "dash-pw-5b1e";

// A server with its dashboard on a free port, a client with one tcp proxy
// "stream" in front of a service that sends bytes slowly for as long as the
// user reads them.
struct dash_lab {
    explicit dash_lab(const std::string& server_extra = "")
        : dash_port(free_port()),
          service([this](int fd) { trickle(fd); }),
          lab(false, server_extra + "[dashboard]\nport = " + std::to_string(dash_port) + "\npassword = \"" +
                         password + "\"\n") {
        if (!lab.server().wait_log(R"(dashboard on http://127\.0\.0\.1:\d+/)"))
            throw std::runtime_error("no dashboard:\n" + lab.server().log());
        client = lab.start_client(lab.client_config({{"stream", service.port()}},
                                                    "client_id = \"home\""));
        port = burrow_lab::proxy_port(*client, "stream");
    }
    ~dash_lab() { stop = true; }

    void trickle(int fd) {
        char request[4096];
        // An HTTP request first gets a response head (the body never ends).
        timeval tv{0, 100'000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (recv(fd, request, sizeof request, 0) > 0 && std::string_view(request, 4) == "GET ") {
            const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n";
            send(fd, head.data(), head.size(), MSG_NOSIGNAL);
        }
        const std::string chunk(16 << 10, 'x');
        while (!stop && send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL) > 0)
            std::this_thread::sleep_for(20ms);
    }

    http_reply get(const std::string& path, std::vector<std::string> extra = {}) {
        extra.insert(extra.begin(), {"-u", std::string("admin:") + password});
        return curl(dash_port, "127.0.0.1", path, extra);
    }
    http_reply post(const std::string& path, std::vector<std::string> extra = {}) {
        extra.insert(extra.begin(), {"-u", std::string("admin:") + password, "-X", "POST",
                                     "-H", "X-CSRF-Token: 1"});
        return curl(dash_port, "127.0.0.1", path, extra);
    }
    json::value api(const std::string& path) {
        auto r = get(path);
        if (r.status != 200) throw std::runtime_error(path + ": " + testing::PrintToString(r));
        return json::parse(r.body);
    }
    // The session of `proxy` (the tcp one by default), or null.
    json::value stream_session(const std::string& proxy = "stream") {
        const auto all = api("/api/v1/sessions");  // kept alive for the loop
        for (const auto& s : all.at("sessions").as_array())
            if (s.at("proxy").as_string() == proxy) return s;
        return nullptr;
    }

    std::uint16_t dash_port;
    std::atomic<bool> stop{false};
    tcp_service service;
    burrow_lab lab;
    std::unique_ptr<process> client;
    std::uint16_t port = 0;
};

// A user reading the proxy's bytes on a thread until the connection ends.
struct reader {
    explicit reader(std::uint16_t port) : fd(port ? connect_tcp(port) : -1) {
        if (fd >= 0) start();
    }
    // Reads `other` instead (a connection the test began itself).
    void adopt(int other) {
        fd = other;
        start();
    }
    void start() {
        thread = std::thread([this] {
            char buf[65536];
            for (;;) {
                const auto n = recv(fd, buf, sizeof buf, 0);
                if (n <= 0) break;
                got += static_cast<std::size_t>(n);
            }
            ended = true;
        });
    }
    ~reader() {
        if (fd < 0) return;
        shutdown(fd, SHUT_RDWR);
        thread.join();
        close(fd);
    }
    int fd;
    std::atomic<std::size_t> got{0};
    std::atomic<bool> ended{false};
    std::thread thread;
};

template <class F>
bool eventually(F f, milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (f()) return true;
        std::this_thread::sleep_for(50ms);
    }
    return f();
}

std::uint64_t number(const json::value& v) { return v.to_number<std::uint64_t>(); }

TEST(dashboard, lists_a_live_session_whose_bytes_grow_and_closes_it_from_the_api) {
    dash_lab d;
    ASSERT_NE(d.port, 0) << d.client->log();
    reader user(d.port);
    ASSERT_TRUE(eventually([&] { return !d.stream_session().is_null(); })) << d.lab.server().log();
    const auto first = d.stream_session();
    EXPECT_EQ(first.at("client").as_string(), "home") << first;
    EXPECT_EQ(first.at("path").as_string(), "relay");
    EXPECT_TRUE(first.at("user_addr").as_string().starts_with("127.0.0.1:")) << first;
    // The count moves while the transfer runs, not only at its end.
    const auto before = number(first.at("bytes_out"));
    ASSERT_TRUE(eventually([&] {
        auto s = d.stream_session();
        return !s.is_null() && number(s.at("bytes_out")) > before + (256u << 10);
    })) << first;

    const auto proxies = json::value(d.api("/api/v1/proxies").at("proxies")).as_array();
    ASSERT_EQ(proxies.size(), 1u);
    EXPECT_EQ(proxies[0].at("name").as_string(), "stream");
    EXPECT_EQ(proxies[0].at("type").as_string(), "tcp");
    EXPECT_EQ(number(proxies[0].at("port")), d.port);
    EXPECT_EQ(number(proxies[0].at("connections")), 1u);
    EXPECT_GT(number(proxies[0].at("bytes_out")), before);
    const auto clients = json::value(d.api("/api/v1/clients").at("clients")).as_array();
    ASSERT_EQ(clients.size(), 1u);
    EXPECT_EQ(clients[0].at("id").as_string(), "home");
    EXPECT_EQ(clients[0].at("proxies").at(0).as_string(), "stream");
    EXPECT_EQ(number(clients[0].at("sessions")), 1u);
    auto overview = d.api("/api/v1/overview");
    EXPECT_EQ(number(overview.at("sessions")), 1u);
    EXPECT_EQ(number(overview.at("clients")), 1u);
    EXPECT_GT(number(overview.at("bytes_out")), before);
    auto traffic = d.api("/api/v1/traffic?proxy=stream");
    EXPECT_EQ(number(traffic.at("bucket_seconds")), 10u);
    ASSERT_FALSE(traffic.at("out").as_array().empty());
    EXPECT_GT(number(traffic.at("out").as_array().back()), 0u);

    // Closing it from the API ends the user's connection.
    const auto id = std::string(d.stream_session().at("id").as_string());
    auto r = d.post("/api/v1/sessions/" + id + "/close");
    EXPECT_EQ(r.status, 200) << r;
    EXPECT_TRUE(eventually([&] { return user.ended.load(); })) << "the user's connection stays open";
    EXPECT_TRUE(eventually([&] { return d.stream_session().is_null(); }));
    EXPECT_TRUE(d.lab.server().wait_log("session " + id + " closed from the dashboard"));
    EXPECT_EQ(d.post("/api/v1/sessions/" + id + "/close").status, 404);
    EXPECT_EQ(d.post("/api/v1/sessions/x1/close").status, 400);
    // Its bytes stay in the proxy's totals.
    const auto after = json::value(d.api("/api/v1/proxies").at("proxies").at(0));
    EXPECT_EQ(number(after.at("connections")), 0u);
    EXPECT_GE(number(after.at("bytes_out")), user.got.load());
}

TEST(dashboard, lists_http_connections_and_visits_with_bytes_that_grow) {
    const auto vhost_port = free_port();
    dash_lab d("vhost_http_port = " + std::to_string(vhost_port) + "\n");
    auto home = start_home(d.lab,
                           secret_proxy("vault", d.service.port()) +
                               "[[proxies]]\nname = \"web\"\ntype = \"http\"\nlocal_port = " +
                               std::to_string(d.service.port()) +
                               "\ncustom_domains = [\"web.localhost\"]\n",
                           "vault");
    ASSERT_TRUE(home->wait_log(R"(\[web\] proxy up)")) << home->log();
    const auto visit_port = free_port();
    auto laptop = start_laptop(d.lab, "laptop", visitor("to-vault", "vault", visit_port),
                               "to-vault", visit_port);
    reader visiting(visit_port);
    int http_fd = connect_tcp(vhost_port);
    const std::string get = "GET / HTTP/1.1\r\nHost: web.localhost\r\n\r\n";
    send_all(http_fd, get.data(), get.size());
    reader browsing(0);
    browsing.adopt(http_fd);

    for (const auto* proxy : {"vault", "web"}) {
        ASSERT_TRUE(eventually([&] {
            auto s = d.stream_session(proxy);
            return !s.is_null() && number(s.at("bytes_out")) > (256u << 10);
        })) << proxy << ": " << d.api("/api/v1/sessions") << d.lab.server().log();
        const auto s = d.stream_session(proxy);
        EXPECT_EQ(s.at("client").as_string(), "home") << s;
        EXPECT_EQ(s.at("path").as_string(), "relay");
    }
    EXPECT_TRUE(d.stream_session("vault").at("user_addr").as_string().starts_with("laptop@"))
        << d.stream_session("vault");
    const auto proxies = json::value(d.api("/api/v1/proxies")).at("proxies").as_array();
    for (const auto& p : proxies) {
        if (p.at("name").as_string() != "web") continue;
        EXPECT_EQ(p.at("urls").at(0).as_string(),
                  "http://web.localhost:" + std::to_string(vhost_port) + "/")
            << p;
    }
    // Closing a visit from the API ends the visitor's connection.
    const auto id = std::string(d.stream_session("vault").at("id").as_string());
    EXPECT_EQ(d.post("/api/v1/sessions/" + id + "/close").status, 200);
    EXPECT_TRUE(eventually([&] { return visiting.ended.load(); }));
    EXPECT_TRUE(eventually([&] { return d.stream_session("vault").is_null(); }));
}

// Sessions on a direct path never pass the server: the home client reports
// them every second, so the dashboard lists them (path "p2p") with bytes
// that grow, and closing one there ends the user's connection. The first
// visit began on the relay and moved (its relay bytes are not counted twice);
// the second began on the direct path.
TEST(dashboard, lists_direct_sessions_from_the_home_clients_reports_and_closes_them) {
    dash_lab d;
    auto home = start_home(d.lab, secret_proxy("vault", d.service.port(), "p2p = true\n"), "vault");
    const auto visit_port = free_port();
    auto laptop = start_laptop(d.lab, "laptop", visitor("to-vault", "vault", visit_port) + "p2p = true\n",
                               "to-vault", visit_port);
    reader moved(visit_port);
    ASSERT_TRUE(laptop->wait_log(R"(\[to-vault/1\] moves onto the direct path)", 20s)) << laptop->log();
    ASSERT_TRUE(laptop->wait_log(R"(\[to-vault\] QUIC connection up)")) << laptop->log();
    reader born(visit_port);
    ASSERT_TRUE(laptop->wait_log(R"(\[to-vault/2\] connected to vault .*direct \(p2p\))")) << laptop->log();

    const auto direct = [&] {
        std::vector<json::value> out;
        const auto all = d.api("/api/v1/sessions");
        for (const auto& s : all.at("sessions").as_array())
            if (s.at("proxy").as_string() == "vault" && s.at("path").as_string() == "p2p") out.push_back(s);
        return out;
    };
    ASSERT_TRUE(eventually([&] { return direct().size() == 2; })) << d.api("/api/v1/sessions") << home->log();
    const auto first = direct();
    std::uint64_t before = 0;
    for (const auto& s : first) {
        EXPECT_EQ(s.at("client").as_string(), "home") << s;
        EXPECT_TRUE(s.at("user_addr").as_string().starts_with("laptop@127.0.0.1:")) << s;
        before += number(s.at("bytes_out"));
    }
    // The counts move while the transfers run.
    ASSERT_TRUE(eventually([&] {
        std::uint64_t now = 0;
        for (const auto& s : direct()) now += number(s.at("bytes_out"));
        return now > before + (256u << 10);
    })) << d.api("/api/v1/sessions");
    // The proxy's total has each byte once: never more than its users got.
    const auto vault = [&] {
        const auto all = d.api("/api/v1/proxies");  // kept alive for the loop
        for (const auto& p : all.at("proxies").as_array())
            if (p.at("name").as_string() == "vault") return json::value(p);
        return json::value();
    };
    EXPECT_EQ(number(vault().at("connections")), 2u) << vault();
    EXPECT_EQ(number(vault().at("connections_total")), 2u) << vault();
    EXPECT_LE(number(vault().at("bytes_out")), moved.got.load() + born.got.load() + (1u << 20)) << vault();

    // Closing the one born direct ends its user's connection; the other goes on.
    // (It opened last: a moved session keeps its age from the relay.)
    const auto rows = direct();
    ASSERT_EQ(rows.size(), 2u);
    const auto& younger = rows[0].at("opened_at").as_double() > rows[1].at("opened_at").as_double()
                              ? rows[0] : rows[1];
    const auto id = std::string(younger.at("id").as_string());
    EXPECT_EQ(d.post("/api/v1/sessions/" + id + "/close").status, 200);
    EXPECT_TRUE(eventually([&] { return born.ended.load(); })) << home->log();
    EXPECT_TRUE(home->wait_log(R"(\[vault/p2p-1\] closed by the server: closed from the server: )")) << home->log();
    EXPECT_TRUE(eventually([&] { return direct().size() == 1; })) << d.api("/api/v1/sessions");
    EXPECT_FALSE(moved.ended.load());
    EXPECT_EQ(number(vault().at("connections")), 1u) << vault();

    // When the service stops, the moved session ends cleanly; its final
    // counts reach the server, and the proxy's total holds each byte once:
    // what the users got, plus what was in flight when the other was closed
    // (live_test checks the relay part of a moved one exactly).
    d.stop = true;
    ASSERT_TRUE(eventually([&] { return moved.ended.load(); })) << home->log();
    ::shutdown(moved.fd, SHUT_WR);  // the user's half: the session is over
    ASSERT_TRUE(eventually([&] { return direct().empty(); })) << d.api("/api/v1/sessions");
    const auto total = number(vault().at("bytes_out"));
    EXPECT_GE(total, moved.got.load() + born.got.load()) << vault();
    EXPECT_LE(total, moved.got.load() + born.got.load() + (64u << 10)) << vault();
    EXPECT_EQ(number(vault().at("connections_total")), 2u) << vault();
}

TEST(dashboard, kicking_a_client_removes_it_and_its_proxies) {
    dash_lab d;
    ASSERT_NE(d.port, 0) << d.client->log();
    EXPECT_EQ(d.post("/api/v1/clients/nobody/kick").status, 404);
    auto r = d.post("/api/v1/clients/home/kick");
    EXPECT_EQ(r.status, 200) << r;
    ASSERT_TRUE(d.lab.server().wait_log(R"(client logout: #\d+ home .*kicked from the dashboard)"))
        << d.lab.server().log();
    // Gone from the listing until it logs in again (its backoff).
    EXPECT_TRUE(d.lab.server().wait_log(R"(\[stream\] proxy down: client #\d+ home)"));
}

TEST(dashboard, answers_nothing_without_a_login_and_limits_wrong_passwords) {
    dash_lab d;
    auto anonymous = curl(d.dash_port, "127.0.0.1", "/api/v1/sessions");
    EXPECT_EQ(anonymous.status, 401) << anonymous;
    EXPECT_NE(anonymous.header("WWW-Authenticate").find("Basic"), std::string::npos) << anonymous;
    // The page's own fetches get no challenge (no browser dialog over the login form).
    auto from_page = curl(d.dash_port, "127.0.0.1", "/api/v1/session", {"-H", "Sec-Fetch-Mode: cors"});
    EXPECT_EQ(from_page.status, 401);
    EXPECT_EQ(from_page.header("WWW-Authenticate"), "");
    EXPECT_EQ(curl(d.dash_port, "127.0.0.1", "/metrics").status, 401);
    EXPECT_EQ(curl(d.dash_port, "127.0.0.1", "/healthz").status, 200);
    // The page itself is public; what it shows is not.
    auto page = curl(d.dash_port, "127.0.0.1", "/");
    EXPECT_EQ(page.status, 200);
    EXPECT_NE(page.header("Content-Security-Policy").find("script-src 'self'"), std::string::npos);
    EXPECT_EQ(page.header("X-Frame-Options"), "DENY");

    const std::vector<std::string> json_type{"-H", "Content-Type: application/json"};
    auto login = [&](const std::string& pw) {
        auto extra = json_type;
        extra.insert(extra.end(), {"-X", "POST", "--data",
                                   R"({"user":"admin","password":")" + pw + "\"}"});
        return curl(d.dash_port, "127.0.0.1", "/api/v1/login", extra);
    };
    for (int i = 0; i < 5; ++i) {
        auto wrong = login("guess" + std::to_string(i));
        EXPECT_EQ(wrong.status, 401) << wrong;
    }
    auto limited = login(password);
    EXPECT_EQ(limited.status, 429) << "the right password waits too, after 5 failures";
    EXPECT_NE(limited.header("Retry-After"), "");
    auto basic = d.get("/api/v1/overview");
    EXPECT_EQ(basic.status, 429) << basic;
    EXPECT_TRUE(d.lab.server().wait_log(R"(dashboard.*login failed from 127\.0\.0\.1 \(user 'admin'\))"));
    const auto log = d.lab.server().log();
    EXPECT_EQ(log.find(password), std::string::npos) << "the password is in the log";
    EXPECT_EQ(log.find("guess0"), std::string::npos) << "a guessed password is in the log";
}

TEST(dashboard, a_login_gives_a_cookie_and_every_post_needs_its_csrf_token) {
    dash_lab d;
    temp_dir jar;
    auto extra = std::vector<std::string>{"-c", jar.file("cookies"), "-H",
                                          "Content-Type: application/json", "-X", "POST", "--data",
                                          std::string(R"({"user":"admin","password":")") +
                                              password + "\"}"};
    auto in = curl(d.dash_port, "127.0.0.1", "/api/v1/login", extra);
    ASSERT_EQ(in.status, 200) << in;
    const auto cookie = in.header("Set-Cookie");
    EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;
    EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos) << cookie;
    const auto csrf = std::string(json::parse(in.body).at("csrf").as_string());
    ASSERT_FALSE(csrf.empty());

    const std::vector<std::string> with_cookie{"-b", jar.file("cookies")};
    auto session = curl(d.dash_port, "127.0.0.1", "/api/v1/session", with_cookie);
    ASSERT_EQ(session.status, 200) << session;
    EXPECT_EQ(json::parse(session.body).at("auth").as_string(), "cookie");
    auto post = [&](std::vector<std::string> more) {
        auto e = with_cookie;
        e.insert(e.end(), {"-X", "POST"});
        e.insert(e.end(), more.begin(), more.end());
        return curl(d.dash_port, "127.0.0.1", "/api/v1/clients/home/kick", e);
    };
    EXPECT_EQ(post({}).status, 403) << "no token";
    EXPECT_EQ(post({"-H", "X-CSRF-Token: wrong"}).status, 403);
    EXPECT_EQ(post({"-H", "X-CSRF-Token: " + csrf, "-H", "Origin: http://evil.example"}).status,
              403)
        << "another site's page";
    EXPECT_EQ(d.lab.server().count_log("kicked from the dashboard"), 0);
    EXPECT_EQ(post({"-H", "X-CSRF-Token: " + csrf}).status, 200);
    // A form of another site cannot log in for the user either.
    auto form = curl(d.dash_port, "127.0.0.1", "/api/v1/login",
                     {"-X", "POST", "--data", "user=admin&password=x"});
    EXPECT_EQ(form.status, 415) << form;
    // Without its basic credentials, a script's POST needs the header as well.
    auto bare = curl(d.dash_port, "127.0.0.1", "/api/v1/sessions/1/close",
                     {"-u", std::string("admin:") + password, "-X", "POST"});
    EXPECT_EQ(bare.status, 403) << bare;
}

// Strict enough for Prometheus's text format 0.0.4: every sample belongs to a
// family declared by # TYPE before it; names, labels and values well formed.
testing::AssertionResult parse_metrics(const std::string& text, std::map<std::string, double>& out) {
    static const std::regex sample(
        R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*)?\})? (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?)$)");
    static const std::regex type(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
    std::set<std::string> families;
    std::istringstream in(text);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        ++n;
        std::smatch m;
        if (line.starts_with("# HELP ")) continue;
        if (std::regex_match(line, m, type)) {
            if (!families.insert(m[1]).second)
                return testing::AssertionFailure() << "line " << n << ": family twice: " << line;
            continue;
        }
        if (!std::regex_match(line, m, sample))
            return testing::AssertionFailure() << "line " << n << ": not a sample: " << line;
        if (!families.count(m[1]))
            return testing::AssertionFailure() << "line " << n << ": no # TYPE for " << m[1];
        out[std::string(m[1]) + std::string(m[2])] = std::stod(m[7]);
    }
    if (text.empty() || text.back() != '\n') return testing::AssertionFailure() << "no final newline";
    return testing::AssertionSuccess();
}

TEST(dashboard, metrics_parse_as_prometheus_text_and_match_the_api) {
    dash_lab d;
    ASSERT_NE(d.port, 0) << d.client->log();
    {
        reader user(d.port);
        ASSERT_TRUE(eventually([&] {
            auto s = d.stream_session();
            return !s.is_null() && number(s.at("bytes_out")) > (128u << 10);
        }));
        d.post("/api/v1/sessions/" + std::string(d.stream_session().at("id").as_string()) +
               "/close");
        ASSERT_TRUE(eventually([&] { return d.stream_session().is_null(); }));
    }
    auto r = d.get("/metrics");
    ASSERT_EQ(r.status, 200) << r;
    EXPECT_NE(r.header("Content-Type").find("text/plain; version=0.0.4"), std::string::npos);
    std::map<std::string, double> m;
    ASSERT_TRUE(parse_metrics(r.body, m)) << r.body;
    const auto proxy = json::value(d.api("/api/v1/proxies").at("proxies").at(0));
    auto overview = d.api("/api/v1/overview");
    const std::string labels = R"({proxy="stream",type="tcp",client="home"})";
    EXPECT_EQ(m.at("burrow_proxy_bytes_out_total" + labels), double(number(proxy.at("bytes_out"))));
    EXPECT_EQ(m.at("burrow_proxy_bytes_in_total" + labels), double(number(proxy.at("bytes_in"))));
    EXPECT_EQ(m.at("burrow_proxy_connections" + labels), 0);
    EXPECT_EQ(m.at("burrow_bytes_out_total"), double(number(overview.at("bytes_out"))));
    EXPECT_EQ(m.at("burrow_connections"), 0);
    EXPECT_EQ(m.at("burrow_connections_total"), 1);
    EXPECT_EQ(m.at(R"(burrow_clients{state="online"})"), 1);
    EXPECT_EQ(m.at(R"(burrow_proxies{type="tcp"})"), 1);
    EXPECT_EQ(m.count("burrow_login_failures_total"), 1u);
    EXPECT_EQ(m.count("burrow_resumptions_total"), 1u);
}

TEST(dashboard, hostile_requests_get_an_error_and_leave_the_tunnels_alone) {
    dash_lab d;
    ASSERT_NE(d.port, 0) << d.client->log();
    // An oversized header is refused, and so is a broken request line.
    auto big = raw_request(d.dash_port, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " +
                                            std::string(16 << 10, 'a') + "\r\n\r\n");
    EXPECT_EQ(status_of(big), 413) << big;
    EXPECT_EQ(status_of(raw_request(d.dash_port, "NOT HTTP\r\n\r\n")), 400);
    // Path tricks find nothing.
    for (const auto* path : {"/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/index.html/..",
                             "/api/v1/../../etc/passwd", "//index.html"})
        EXPECT_EQ(status_of(raw_request(d.dash_port, std::string("GET ") + path +
                                                         " HTTP/1.1\r\nHost: x\r\n\r\n")) /
                      100,
                  4)
            << path;
    EXPECT_EQ(d.get("/api/v1/traffic?proxy=%zz").status, 400);
    EXPECT_EQ(d.get("/api/v1/traffic?proxy=nope").status, 404);
    EXPECT_EQ(d.get("/api/v1/traffic").status, 400);
    EXPECT_EQ(d.get("/api/v1/nothing").status, 404);
    EXPECT_EQ(curl(d.dash_port, "127.0.0.1", "/", {"-X", "DELETE"}).status, 405);

    // Connections beyond the dashboard's limit are closed at once, and a
    // silent one within its request deadline; the tunnel serves throughout.
    std::vector<int> flood;
    for (int i = 0; i < 80; ++i) flood.push_back(connect_tcp(d.dash_port));
    tcp_service echo(echo_handler);
    auto [client2, echo_port] = d.lab.expose("echo", echo.port());
    ASSERT_NE(echo_port, 0);
    EXPECT_TRUE(echo_works(echo_port, 1 << 20));
    int closed = 0;
    for (int fd : flood) {
        char c;
        timeval tv{0, 200'000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (recv(fd, &c, 1, 0) == 0) ++closed;
    }
    EXPECT_GE(closed, 80 - 16) << "at most 16 connections per address are kept";
    const auto silent_since = std::chrono::steady_clock::now();
    std::string rest = recv_all(flood.front(), 20s);
    EXPECT_LT(std::chrono::steady_clock::now() - silent_since, 15s) << "a silent connection stays";
    for (int fd : flood) close(fd);
    EXPECT_EQ(d.get("/api/v1/overview").status, 200) << "the dashboard serves again";
}

TEST(dashboard, serves_its_files_gzipped_with_etags) {
    dash_lab d;
    auto js = curl(d.dash_port, "127.0.0.1", "/uPlot.iife.min.js", {"--compressed"});
    ASSERT_EQ(js.status, 200) << js;
    EXPECT_EQ(js.header("Content-Encoding"), "gzip");
    EXPECT_NE(js.body.find("uPlot"), std::string::npos);
    const auto etag = js.header("ETag");
    ASSERT_FALSE(etag.empty());
    auto again = curl(d.dash_port, "127.0.0.1", "/uPlot.iife.min.js", {"-H", "If-None-Match: " + etag});
    EXPECT_EQ(again.status, 304);
    auto plain = curl(d.dash_port, "127.0.0.1", "/app.css");
    EXPECT_EQ(plain.status, 200);
    EXPECT_EQ(plain.header("Content-Encoding"), "");
    EXPECT_NE(plain.header("Content-Type").find("text/css"), std::string::npos);
}

// The page in headless Chromium: log in, see the client, the proxy and a live
// session whose bytes grow, the chart drawn, close the session; no console
// errors, no CSP violations (tests/web/dashboard_test.mjs).
TEST(dashboard, the_page_in_a_browser_shows_a_live_session_and_closes_it) {
    dash_lab d;
    ASSERT_NE(d.port, 0) << d.client->log();
    reader user(d.port);
    ASSERT_TRUE(eventually([&] { return !d.stream_session().is_null(); }));
    const std::string shots = std::string(BURROW_BIN_DIR) + "/../test-artifacts";
    std::filesystem::create_directories(shots);
    auto r = run({"/usr/bin/node", std::string(BURROW_SOURCE_DIR) + "/tests/web/dashboard_test.mjs",
                  "--url", "http://127.0.0.1:" + std::to_string(d.dash_port), "--user", "admin",
                  "--password", password, "--client", "home", "--proxy", "stream",
                  "--screenshot-dir", shots},
                 90s);
    std::cout << r.output;  // the steps it passed
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("dashboard_test: ok"), std::string::npos) << r.output;
    EXPECT_TRUE(eventually([&] { return user.ended.load(); })) << "closed in the page, yet open";
}

}  // namespace
}  // namespace burrow::e2e
