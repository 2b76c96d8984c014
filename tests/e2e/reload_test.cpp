// A running server reloads its config on SIGHUP (server/reload.hpp): tokens
// per client ([[auth.clients]]) are added and revoked without touching the
// other clients, allow_ports applies to proxies registered from then on, and
// a file with errors changes nothing.
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "visit_peers.hpp"

namespace burrow::e2e {
namespace {

const std::string home_token = "home-token-41c0de";
const std::string nas_token = "nas-token-93a7be";

std::string tokens(bool with_home) {
    std::string t = "\n[[auth.clients]]\nid = \"nas\"\ntoken = \"" + nas_token + "\"\n";
    if (with_home) t += "[[auth.clients]]\nid = \"home\"\ntoken = \"" + home_token + "\"\n";
    return t;
}

TEST(reload, a_revoked_client_token_ends_that_client_alone) {
    tcp_service service(echo_handler);
    reload_lab r;
    auto& lab = r.lab;
    ASSERT_TRUE(r.reload("", tokens(true), 1)) << lab.server().log();
    EXPECT_TRUE(lab.server().wait_log(R"(reloaded .*: 2 client token\(s\) and the shared token)", 1s))
        << lab.server().log();

    // Each listed client logs in with its own token.
    auto home = lab.start_client(
        lab.client_config({{"home-echo", service.port()}}, "client_id = \"home\"", home_token));
    auto nas = lab.start_client(
        lab.client_config({{"nas-echo", service.port()}}, "client_id = \"nas\"", nas_token));
    const auto home_port = burrow_lab::proxy_port(*home, "home-echo");
    const auto nas_port = burrow_lab::proxy_port(*nas, "nas-echo");
    ASSERT_NE(home_port, 0) << home->log() << lab.server().log();
    ASSERT_NE(nas_port, 0) << nas->log() << lab.server().log();
    // A listed id with the shared token gets nothing; an unlisted one may use it.
    auto imposter = lab.start_client(
        lab.client_config({{"stolen", service.port()}}, "client_id = \"home\""));
    EXPECT_TRUE(imposter->wait_log("login failed: the server answered 'login rejected: bad token proof'"))
        << imposter->log();
    imposter.reset();
    auto laptop = lab.start_client(
        lab.client_config({{"laptop-echo", service.port()}}, "client_id = \"laptop\""));
    ASSERT_NE(burrow_lab::proxy_port(*laptop, "laptop-echo"), 0) << laptop->log();

    // A user of the nas's proxy is mid-conversation when home is revoked.
    const int user = connect_tcp(nas_port);
    ASSERT_GE(user, 0);
    fd_deadline guard(user, 30s);
    ASSERT_TRUE(send_all(user, "before", 6));
    char got[6];
    ASSERT_EQ(::recv(user, got, sizeof got, MSG_WAITALL), 6);

    ASSERT_TRUE(r.reload("", tokens(false), 2)) << lab.server().log();
    EXPECT_TRUE(lab.server().wait_log(R"(1 run\(s\) whose token changed ended)", 1s)) << lab.server().log();
    EXPECT_TRUE(lab.server().wait_log(
        R"(client logout: #\d+ home .*: its token was changed or removed by a reload \(revoked\))", 5s))
        << lab.server().log();
    // Home cannot come back with its old token; nobody else noticed.
    EXPECT_TRUE(home->wait_log("login failed: the server answered 'login rejected: bad token proof'", 15s))
        << home->log();
    ASSERT_TRUE(send_all(user, "after!", 6));
    ASSERT_EQ(::recv(user, got, sizeof got, MSG_WAITALL), 6);
    EXPECT_EQ(std::string(got, 6), "after!");
    ::close(user);
    EXPECT_TRUE(echo_works(nas_port));
    EXPECT_EQ(nas->count_log("logged in to"), 1);
    EXPECT_EQ(laptop->count_log("logged in to"), 1);

    // Tokens stay out of every log.
    for (const auto* p : {&lab.server(), home.get(), nas.get(), laptop.get()})
        for (const auto& secret : {home_token, nas_token, std::string(burrow_lab::token)})
            EXPECT_EQ(p->log().find(secret), std::string::npos) << secret;
}

TEST(reload, a_file_with_errors_changes_nothing_and_says_where) {
    tcp_service service(echo_handler);
    reload_lab r;
    auto& lab = r.lab;
    auto client = lab.start_client(lab.client_config({{"echo", service.port()}}));
    const auto port = burrow_lab::proxy_port(*client, "echo");
    ASSERT_NE(port, 0);

    // The same messages as `verify`, with file:line:column.
    ASSERT_TRUE(r.reload("max_proxies_per_client = 0\n", "", 1)) << lab.server().log();
    EXPECT_TRUE(lab.server().wait_log(
        R"(reload of .*server\.toml refused; running on with the config as it was:\n.* error +server +  .*server\.toml:1:26: max_proxies_per_client: )",
        1s))
        << lab.server().log();
    // Fixed, it loads.
    ASSERT_TRUE(r.reload("max_proxies_per_client = 2\n", "", 2)) << lab.server().log();
    EXPECT_TRUE(lab.server().wait_log("reloaded .*max_proxies_per_client 2", 1s)) << lab.server().log();
    EXPECT_TRUE(echo_works(port));
    EXPECT_EQ(client->count_log("logged in to"), 1);
}

TEST(reload, allow_ports_applies_to_proxies_registered_from_then_on) {
    tcp_service service(echo_handler);
    reload_lab r;
    auto& lab = r.lab;
    auto before = lab.start_client(lab.client_config({{"before", service.port()}}));
    const auto before_port = burrow_lab::proxy_port(*before, "before");
    ASSERT_NE(before_port, 0);
    const auto allowed = free_port();
    auto outside = free_port();
    while (outside == allowed) outside = free_port();
    ASSERT_TRUE(r.reload("allow_ports = [" + std::to_string(allowed) + "]\n", "", 1));
    ASSERT_TRUE(lab.server().wait_log("reloaded .*allow_ports " + std::to_string(allowed), 1s))
        << lab.server().log();

    auto after = lab.start_client(lab.client_config(
        {{"refused", service.port(), outside}, {"taken", service.port(), allowed}}));
    EXPECT_TRUE(after->wait_log("\\[refused\\] proxy rejected: port " + std::to_string(outside) +
                                " is not allowed \\(allow_ports: " + std::to_string(allowed) + "\\)"))
        << after->log();
    EXPECT_EQ(burrow_lab::proxy_port(*after, "taken"), allowed) << after->log();
    EXPECT_TRUE(echo_works(before_port));  // one registered before keeps its port
}

// A [[proxies]] table: `local` behind `name`, on `remote` (0: the server picks).
std::string proxy_table(const std::string& name, std::uint16_t local, std::uint16_t remote = 0) {
    return "[[proxies]]\nname = \"" + name + "\"\nlocal_port = " + std::to_string(local) +
           "\nremote_port = " + std::to_string(remote) + "\n";
}

// One round trip on an open connection.
bool round_trip(int fd, const std::string& text) {
    std::string got(text.size(), '\0');
    return send_all(fd, text.data(), text.size()) &&
           ::recv(fd, got.data(), got.size(), MSG_WAITALL) == static_cast<ssize_t>(got.size()) &&
           got == text;
}

TEST(reload, the_client_applies_an_edited_config_and_leaves_the_rest_alone) {
    tcp_service service(echo_handler), other(echo_handler);
    burrow_lab lab;
    const auto keep_port = free_port(), gone_port = free_port();
    const auto base = lab.client_config({});
    auto client = lab.start_client(base + proxy_table("keep", service.port(), keep_port) +
                                   proxy_table("gone", service.port(), gone_port) +
                                   proxy_table("moved", service.port()));
    const auto file = lab.dir().file("client1.toml");
    ASSERT_EQ(burrow_lab::proxy_port(*client, "keep"), keep_port) << client->log();
    ASSERT_EQ(burrow_lab::proxy_port(*client, "gone"), gone_port) << client->log();
    ASSERT_NE(burrow_lab::proxy_port(*client, "moved"), 0) << client->log();
    const int user = connect_tcp(keep_port);
    ASSERT_GE(user, 0);
    fd_deadline guard(user, 60s);
    ASSERT_TRUE(round_trip(user, "one"));

    // gone removed, fresh added, moved now reaches another service.
    write_text(file, base + proxy_table("keep", service.port(), keep_port) +
                         proxy_table("moved", other.port()) + proxy_table("fresh", service.port()));
    auto r = run({bin("burrow-client"), "reload", "-c", file});
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("reloaded " + file + ": proxies +fresh -gone ~moved; visitors unchanged"),
              std::string::npos)
        << r.output;
    const auto fresh = burrow_lab::proxy_port(*client, "fresh");
    ASSERT_NE(fresh, 0) << client->log();
    EXPECT_TRUE(echo_works(fresh));
    const auto moved = burrow_lab::proxy_port(*client, "moved", 2);
    ASSERT_NE(moved, 0) << client->log();
    const int before = other.accepted();
    EXPECT_TRUE(echo_works(moved));
    EXPECT_EQ(other.accepted(), before + 1);  // the new definition
    bool gone_closed = false;
    for (int i = 0; i < 40 && !gone_closed; ++i) {
        const int fd = connect_tcp(gone_port);
        gone_closed = fd < 0;
        if (fd >= 0) ::close(fd);
        if (!gone_closed) std::this_thread::sleep_for(50ms);
    }
    EXPECT_TRUE(gone_closed);
    // The unchanged proxy and its open connection were not touched.
    EXPECT_TRUE(round_trip(user, "two"));
    EXPECT_EQ(lab.server().log().find("[keep] proxy down"), std::string::npos);
    EXPECT_EQ(client->count_log(R"(\[keep\] proxy up)"), 1);

    // A file with an error is refused whole, with verify's words, by the
    // command and by the running client (SIGHUP).
    const auto good = slurp(file);
    write_text(file, good + "[[proxies]]\nname = \"bad\"\nlocal_port = 0\n");
    r = run({bin("burrow-client"), "reload", "-c", file});
    EXPECT_EQ(r.code, 1) << r.output;
    EXPECT_NE(r.output.find("client1.toml:"), std::string::npos) << r.output;
    client->kill(SIGHUP);
    EXPECT_TRUE(client->wait_log(
        R"(reload of .*client1\.toml refused; running on with the config as it was:\n.*client1\.toml:\d+:\d+: proxies\[3\]\.local_port)",
        10s))
        << client->log();
    EXPECT_TRUE(echo_works(fresh));

    // SIGHUP applies a good edit: fresh goes, the rest stays.
    write_text(file, base + proxy_table("keep", service.port(), keep_port) +
                         proxy_table("moved", other.port()));
    client->kill(SIGHUP);
    EXPECT_TRUE(client->wait_log(R"(reloaded .*client1\.toml: proxies -fresh; visitors unchanged)", 10s))
        << client->log();
    EXPECT_TRUE(round_trip(user, "three"));
    EXPECT_TRUE(echo_works(moved));
}

TEST(reload, visitors_start_stop_and_move_while_their_open_visits_go_on) {
    tcp_service echo(echo_handler);
    burrow_lab lab;
    auto home = start_home(lab, secret_proxy("echo-secret", echo.port()), "echo-secret");
    const auto first = free_port(), moved = free_port(), added = free_port();
    const auto base = lab.client_config({}, "client_id = \"laptop\"");
    auto laptop = start_laptop(lab, "laptop", visitor("v", "echo-secret", first), "v", first);
    const auto file = lab.dir().file("laptop2.toml");
    const int user = connect_tcp(first);
    ASSERT_GE(user, 0);
    fd_deadline guard(user, 60s);
    ASSERT_TRUE(round_trip(user, "one")) << laptop->log();

    write_text(file, base + visitor("v", "echo-secret", moved) + visitor("w", "echo-secret", added));
    const auto r = run({bin("burrow-client"), "reload", "-c", file});
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("proxies unchanged; visitors +w ~v"), std::string::npos) << r.output;
    EXPECT_TRUE(laptop->wait_log(R"(\[v\] visitor listening on 127\.0\.0\.1:)" + std::to_string(moved)))
        << laptop->log();
    EXPECT_TRUE(laptop->wait_log(R"(\[w\] visitor listening on 127\.0\.0\.1:)" + std::to_string(added)))
        << laptop->log();
    for (const auto port : {moved, added}) {
        const int fd = connect_tcp(port);
        ASSERT_GE(fd, 0) << port;
        EXPECT_TRUE(round_trip(fd, "hello")) << port << laptop->log();
        ::close(fd);
    }
    EXPECT_LT(connect_tcp(first), 0);  // its old port is closed
    EXPECT_TRUE(round_trip(user, "two"));  // the visit that was open goes on
}

}  // namespace
}  // namespace burrow::e2e
