// A running server reloads its config on SIGHUP (server/reload.hpp): tokens
// per client ([[auth.clients]]) are added and revoked without touching the
// other clients, allow_ports applies to proxies registered from then on, and
// a file with errors changes nothing.
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "harness.hpp"

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

}  // namespace
}  // namespace burrow::e2e
