// The command line of the real binaries: verify, status, --help, --version, bad input.
#include <sys/socket.h>

#include <cstdlib>
#include <regex>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace burrow::e2e {
namespace {

TEST(cli, verify_accepts_the_example_configs) {
    setenv("BURROW_TOKEN", "example-token", 1);
    setenv("NAS_PASSWORD", "example-password", 1);
    setenv("BURROW_DASHBOARD_PASSWORD", "example-dashboard-password", 1);
    auto s = run({bin("burrow-server"), "verify", "-c", std::string(BURROW_SOURCE_DIR) + "/conf/server.toml"});
    EXPECT_EQ(s.code, 0) << s.output;
    setenv("SSH_SECRET", "example-secret", 1);
    auto c = run({bin("burrow-client"), "verify", "-c", std::string(BURROW_SOURCE_DIR) + "/conf/client.toml"});
    EXPECT_EQ(c.code, 0) << c.output;
    auto v = run({bin("burrow-client"), "verify", "-c",
                  std::string(BURROW_SOURCE_DIR) + "/conf/visitor.toml"});
    EXPECT_EQ(v.code, 0) << v.output;
}

TEST(cli, verify_names_file_line_column_and_key_and_exits_1) {
    temp_dir d;
    const auto path = d.file("broken.toml");
    write_text(path,
               "server_addr = \"example.org\"\n"
               "[auth]\n"
               "token = \"x\"\n"
               "[tls]\n"
               "enable = false\n"
               "[[proxies]]\n"
               "name = \"ssh\"\n"
               "local_port = 70000\n");
    auto r = run({bin("burrow-client"), "verify", "-c", path});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find(path + ":8:14: proxies[0].local_port"), std::string::npos) << r.output;
}

TEST(cli, running_with_a_broken_config_binds_nothing_and_exits_1) {
    temp_dir d;
    const auto port = free_port();
    write_text(d.file("s.toml"), "bind_addr = \"127.0.0.1\"\nbind_port = " + std::to_string(port) +
                                     "\nbogus_key = 1\n[auth]\ntoken = \"x\"\n");
    auto r = run({bin("burrow-server"), "-c", d.file("s.toml")});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find("s.toml:3:1: bogus_key"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("listening"), std::string::npos);
}

TEST(cli, help_version_and_unknown_arguments) {
    for (const char* prog : {"burrow-server", "burrow-client"}) {
        auto h = run({bin(prog), "--help"});
        EXPECT_EQ(h.code, 0);
        EXPECT_NE(h.output.find("usage:"), std::string::npos);
        auto v = run({bin(prog), "--version"});
        EXPECT_EQ(v.code, 0);
        EXPECT_NE(v.output.find(prog), std::string::npos);
        auto bad = run({bin(prog), "--frobnicate"});
        EXPECT_EQ(bad.code, 2);
        EXPECT_NE(bad.output.find("unknown argument '--frobnicate'"), std::string::npos);
        auto none = run({bin(prog)});
        EXPECT_EQ(none.code, 2);
        EXPECT_NE(none.output.find("missing -c FILE"), std::string::npos);
    }
}

// `burrow-client status -c F` asks the client started with F (its admin
// socket is derived from F's path): proxies with their state, visitors, and
// each open session with its peer and bytes; `--json` for scripts.
TEST(cli, status_lists_proxies_visitors_and_open_sessions) {
    burrow_lab lab;
    tcp_service service(echo_handler);
    auto client = lab.start_client(
        lab.client_config({{"echo", service.port()}}) +
        "[[visitors]]\nname = \"later\"\nserver_name = \"nowhere\"\nsecret_key = \"0123456789\"\n");
    const auto port = burrow_lab::proxy_port(*client, "echo");
    ASSERT_NE(port, 0) << client->log();
    const auto config = lab.dir().file("client1.toml");
    const int user = connect_tcp(port);
    ASSERT_GE(user, 0);
    fd_deadline guard(user, 30s);
    ASSERT_TRUE(send_all(user, "hello", 5));
    char buf[5];
    ASSERT_EQ(::recv(user, buf, 5, MSG_WAITALL), 5);

    const auto text = run({bin("burrow-client"), "status", "-c", config});
    EXPECT_EQ(text.code, 0) << text.output;
    EXPECT_NE(text.output.find("connected to 127.0.0.1:"), std::string::npos) << text.output;
    EXPECT_TRUE(std::regex_search(text.output, std::regex(R"(echo +tcp +up: remote port \d+)")))
        << text.output;
    EXPECT_NE(text.output.find("later"), std::string::npos) << text.output;
    EXPECT_TRUE(std::regex_search(
        text.output, std::regex(R"(\[echo/1\] +from 127\.0\.0\.1:\d+ .* to service 5 B, from service 5 B, relay, open, 0 resumptions)")))
        << text.output;

    const auto json = run({bin("burrow-client"), "status", "-c", config, "--json"});
    EXPECT_EQ(json.code, 0) << json.output;
    EXPECT_TRUE(std::regex_search(
        json.output, std::regex(R"("sessions":\[\{"id":1,"kind":"proxy","tag":"\[echo/1\]","peer":"127\.0\.0\.1:\d+",)")))
        << json.output;
    EXPECT_NE(json.output.find(R"("bytes_to_service":5,"bytes_from_service":5,"path":"relay")"),
              std::string::npos)
        << json.output;
    ::close(user);

    // No client runs with another file: a clear line, exit 1.
    write_text(lab.dir().file("other.toml"), lab.client_config({}));
    const auto none = run({bin("burrow-client"), "status", "-c", lab.dir().file("other.toml")});
    EXPECT_EQ(none.code, 1);
    EXPECT_NE(none.output.find("no burrow-client is running with"), std::string::npos)
        << none.output;
}

// With [admin] port, the admin API is a loopback TCP port instead of the
// Unix socket, and status finds it through the same config.
TEST(cli, status_reaches_a_client_whose_admin_api_is_a_loopback_port) {
    burrow_lab lab;
    tcp_service service(echo_handler);
    const auto admin_port = free_port();
    auto client = lab.start_client(lab.client_config({{"echo", service.port()}}) +
                                   "[admin]\nport = " + std::to_string(admin_port) + "\n");
    ASSERT_NE(burrow_lab::proxy_port(*client, "echo"), 0) << client->log();
    EXPECT_TRUE(client->wait_log("admin API on 127.0.0.1:" + std::to_string(admin_port), 1s))
        << client->log();
    const auto config = lab.dir().file("client1.toml");
    const auto json = run({bin("burrow-client"), "status", "-c", config, "--json"});
    EXPECT_EQ(json.code, 0) << json.output;
    EXPECT_NE(json.output.find(R"("proxies":[{"name":"echo","type":"tcp","state":"up: remote port )"),
              std::string::npos)
        << json.output;
    client->kill(SIGTERM);
    ASSERT_EQ(client->wait_exit(), 0);
    const auto gone = run({bin("burrow-client"), "status", "-c", config});
    EXPECT_EQ(gone.code, 1);
    EXPECT_NE(gone.output.find("(admin port 127.0.0.1:" + std::to_string(admin_port)),
              std::string::npos)
        << gone.output;
}

}  // namespace
}  // namespace burrow::e2e
