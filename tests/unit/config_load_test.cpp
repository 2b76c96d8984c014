// Unit tests for common/config: valid files get their defaults, environment
// variables are substituted, the shipped examples load, paths resolve.
#include <algorithm>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "tests/unit/config_testing.hpp"

namespace burrow {
namespace {

using namespace config_testing;

TEST(config_defaults, server) {
    const auto cfg = parse_server_config("[auth]\ntoken = \"t\"\n", "server.toml");
    EXPECT_EQ(cfg.file, "server.toml");
    EXPECT_EQ(cfg.bind_addr, "0.0.0.0");
    EXPECT_EQ(cfg.bind_port, 7000);
    EXPECT_EQ(cfg.proxy_bind_addr, "0.0.0.0");
    EXPECT_TRUE(cfg.allow_ports.empty());
    EXPECT_EQ(cfg.data_dir, "burrow-data");
    EXPECT_EQ(cfg.heartbeat_timeout, 30u);
    EXPECT_EQ(cfg.max_proxies_per_client, 64u);
    EXPECT_EQ(cfg.max_pending_connections, 256u);
    EXPECT_EQ(cfg.work_timeout, 10u);
    EXPECT_EQ(cfg.auth.token, "t");
    EXPECT_TRUE(cfg.tls.enable);
    EXPECT_EQ(cfg.tls.cert_file, "");
    EXPECT_EQ(cfg.tls.key_file, "");
    EXPECT_EQ(cfg.log.level, "info");
}

TEST(config_defaults, client) {
    const auto cfg = parse_client_config(client_base + "[[proxies]]\nname = \"ssh\"\nlocal_port = 22\n", "client.toml");
    EXPECT_EQ(cfg.file, "client.toml");
    EXPECT_EQ(cfg.server_addr, "tunnel.example.com");
    EXPECT_EQ(cfg.server_port, 7000);
    char host[256] = {};
    ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
    EXPECT_EQ(cfg.client_id, host);
    EXPECT_EQ(cfg.tls.server_name, "tunnel.example.com");
    EXPECT_EQ(cfg.transport.pool_count, 4u);
    EXPECT_EQ(cfg.transport.heartbeat_interval, 10u);
    EXPECT_EQ(cfg.transport.heartbeat_timeout, 30u);
    EXPECT_EQ(cfg.transport.dial_timeout, 10u);
    EXPECT_EQ(cfg.transport.max_backoff, 4u);
    EXPECT_EQ(cfg.transport.resume_buffer, 64u << 20);
    EXPECT_EQ(cfg.transport.resume_buffer_total, 512u << 20);
    EXPECT_EQ(cfg.log.level, "info");
    ASSERT_EQ(cfg.proxies.size(), 1u);
    EXPECT_EQ(cfg.proxies[0].type, "tcp");
    EXPECT_EQ(cfg.proxies[0].local_addr, "127.0.0.1");
    EXPECT_EQ(cfg.proxies[0].remote_port, 0);
}

TEST(config_sizes, resume_buffer_takes_bytes_or_a_unit) {
    auto with = [](const std::string& v) {
        return client_base + "[transport]\nresume_buffer = " + v + "\n";
    };
    EXPECT_EQ(parse_client_config(with("\"16MiB\""), "t").transport.resume_buffer, 16u << 20);
    EXPECT_EQ(parse_client_config(with("\"512KiB\""), "t").transport.resume_buffer, 512u << 10);
    EXPECT_EQ(parse_client_config(with("\"1GiB\""), "t").transport.resume_buffer, 1u << 30);
    EXPECT_EQ(parse_client_config(with("1048576"), "t").transport.resume_buffer, 1u << 20);
    const auto line = static_cast<int>(std::count(client_base.begin(), client_base.end(), '\n')) + 2;
    expect_one(client_problems(with("\"4 MB\"")), line, 17, "transport.resume_buffer",
               "expected a size such as \"64MiB\"");
    expect_one(client_problems(with("\"2GiB\"")), line, 17, "transport.resume_buffer",
               "must be between");
    expect_one(client_problems(with("\"1KiB\"")), line, 17, "transport.resume_buffer",
               "must be between");
    // Found by fuzzing: 17179869185 GiB wrapped around to 1 GiB and loaded.
    expect_one(client_problems(with("\"17179869185GiB\"")), line, 17, "transport.resume_buffer",
               "must be between");
    expect_one(client_problems(with("true")), line, 17, "transport.resume_buffer", "a size");
    const auto server = parse_server_config(
        "resume_buffer = \"8MiB\"\nresume_buffer_total = \"2GiB\"\n[auth]\ntoken = \"t\"\n", "s");
    EXPECT_EQ(server.resume_buffer, 8u << 20);
    EXPECT_EQ(server.resume_buffer_total, 2ull << 30);
}

TEST(config_admin, a_tcp_admin_port_only_on_loopback) {
    auto with = [](const std::string& addr) {
        return client_base + "[admin]\naddr = \"" + addr + "\"\nport = 7400\n";
    };
    const auto cfg = parse_client_config(with("::1"), "t");
    EXPECT_EQ(cfg.admin.addr, "::1");
    EXPECT_EQ(cfg.admin.port, 7400);
    EXPECT_EQ(parse_client_config(client_base, "t").admin.port, 0);  // the Unix socket
    expect_one(client_problems(with("0.0.0.0")), 7, 8, "admin.addr", "must be a loopback address");
    expect_one(client_problems(with("192.0.2.1")), 7, 8, "admin.addr", "must be a loopback address");
    expect_one(client_problems(with("localhost")), 7, 8, "admin.addr", "must be a loopback address");
}

TEST(config_defaults, explicit_client_id_and_server_name_are_kept) {
    const auto cfg = parse_client_config("client_id = \"home-nas\"\n" + client_base + "server_name = \"tls.example\"\n",
                                         "t");
    EXPECT_EQ(cfg.client_id, "home-nas");
    EXPECT_EQ(cfg.tls.server_name, "tls.example");
    expect_one(client_problems("client_id = \"home nas\"\n" + client_base), 1, 13, "client_id", "may only contain");
}

TEST(config_env, variables_are_substituted_in_strings) {
    const scoped_env token("BURROW_TEST_TOKEN", "s3cret");
    const scoped_env host("BURROW_TEST_HOST", "tunnel");
    const auto cfg = parse_server_config("bind_addr = \"${BURROW_TEST_HOST}.example.com\"\n"
                                         "[auth]\ntoken = \"${BURROW_TEST_TOKEN}\"\n",
                                         "t");
    EXPECT_EQ(cfg.auth.token, "s3cret");
    EXPECT_EQ(cfg.bind_addr, "tunnel.example.com");
}

TEST(config_env, substitution_happens_before_validation) {
    const scoped_env ports("BURROW_TEST_PORTS", "6000-6100");
    const scoped_env level("BURROW_TEST_LEVEL", "loud");
    const auto cfg = parse_server_config("allow_ports = [\"${BURROW_TEST_PORTS}\"]\n[auth]\ntoken = \"t\"\n", "t");
    ASSERT_EQ(cfg.allow_ports.size(), 1u);
    EXPECT_EQ(cfg.allow_ports[0].last, 6100);
    expect_one(server_problems("[auth]\ntoken = \"t\"\n[log]\nlevel = \"${BURROW_TEST_LEVEL}\"\n"), 4, 9, "log.level",
               "unknown log level \"loud\"");
}

TEST(config_env, unset_variable_names_key_and_variable) {
    const scoped_env unset("BURROW_TEST_UNSET", nullptr);
    expect_one(server_problems("[auth]\ntoken = \"${BURROW_TEST_UNSET}\"\n"), 2, 9, "auth.token",
               "environment variable BURROW_TEST_UNSET is not set");
}

TEST(config_env, malformed_references) {
    expect_one(server_problems("[auth]\ntoken = \"abc${NAME\"\n"), 2, 9, "auth.token", "unterminated");
    expect_one(server_problems("[auth]\ntoken = \"${}\"\n"), 2, 9, "auth.token", "not a valid environment variable");
    expect_one(server_problems("[auth]\ntoken = \"${1X}\"\n"), 2, 9, "auth.token", "not a valid environment variable");
}

TEST(config_env, double_dollar_is_a_literal) {
    const scoped_env unset("BURROW_TEST_UNSET", nullptr);
    const auto cfg = parse_server_config("[auth]\ntoken = \"a$${BURROW_TEST_UNSET}b$c$$d\"\n", "t");
    EXPECT_EQ(cfg.auth.token, "a${BURROW_TEST_UNSET}b$c$$d");
}

// The example configs ship with the product, so they must stay valid.
class example_configs : public ::testing::Test {
protected:
    scoped_env token_{"BURROW_TOKEN", "example-token"};
    scoped_env password_{"NAS_PASSWORD", "example-password"};
    scoped_env secret_{"SSH_SECRET", "example-secret"};
    scoped_env dashboard_{"BURROW_DASHBOARD_PASSWORD", "example-dashboard-password"};
    std::filesystem::path conf_ = std::filesystem::path(BURROW_SOURCE_DIR) / "conf";
};

TEST_F(example_configs, server_toml_loads) {
    const auto cfg = load_server_config((conf_ / "server.toml").string());
    EXPECT_EQ(cfg.file, (conf_ / "server.toml").lexically_normal().string());
    EXPECT_TRUE(std::filesystem::path(cfg.file).is_absolute());
    EXPECT_EQ(cfg.auth.token, "example-token");
    EXPECT_TRUE(cfg.tls.enable);
    // Relative data_dir is resolved against the config file's directory.
    EXPECT_EQ(cfg.data_dir, (conf_ / "burrow-data").lexically_normal().string());
    ASSERT_EQ(cfg.allow_ports.size(), 2u);
    EXPECT_EQ(cfg.allow_ports[0].first, 6000);
    EXPECT_EQ(cfg.allow_ports[0].last, 6100);
    EXPECT_EQ(cfg.allow_ports[1].first, 7022);
    EXPECT_EQ(cfg.vhost_http_port, 8080);
    EXPECT_EQ(cfg.dashboard.port, 7500);
    EXPECT_EQ(cfg.dashboard.password, "example-dashboard-password");
    EXPECT_EQ(cfg.vhost_https_port, 8443);
    EXPECT_EQ(cfg.subdomain_host, "example.com");
}

TEST_F(example_configs, client_toml_loads) {
    const auto cfg = load_client_config((conf_ / "client.toml").string());
    EXPECT_TRUE(std::filesystem::path(cfg.file).is_absolute());
    EXPECT_EQ(cfg.auth.token, "example-token");
    EXPECT_TRUE(cfg.tls.enable);
    EXPECT_EQ(cfg.tls.server_fingerprint.size(), 7u + 64u);
    ASSERT_EQ(cfg.proxies.size(), 5u);
    EXPECT_EQ(cfg.proxies[0].name, "ssh");
    EXPECT_EQ(cfg.proxies[0].local_port, 22);
    EXPECT_EQ(cfg.proxies[0].remote_port, 6022);
    EXPECT_EQ(cfg.proxies[1].name, "web");
    EXPECT_EQ(cfg.proxies[1].type, "tcp");
    EXPECT_EQ(cfg.proxies[1].local_port, 5000);
    EXPECT_EQ(cfg.proxies[1].remote_port, 0);
    EXPECT_EQ(cfg.proxies[2].type, "http");
    EXPECT_EQ(cfg.proxies[2].custom_domains, std::vector<std::string>{"nas.example.com"});
    EXPECT_EQ(cfg.proxies[2].http_password, "example-password");
    EXPECT_EQ(cfg.proxies[3].type, "https");
    EXPECT_EQ(cfg.proxies[4].type, "secret");
    EXPECT_EQ(cfg.proxies[4].secret_key, "example-secret");
    EXPECT_EQ(cfg.proxies[4].allow_clients, std::vector<std::string>{"laptop"});
    EXPECT_TRUE(cfg.visitors.empty());
}

TEST_F(example_configs, visitor_toml_loads) {
    const auto cfg = load_client_config((conf_ / "visitor.toml").string());
    EXPECT_EQ(cfg.client_id, "laptop");
    EXPECT_TRUE(cfg.proxies.empty());
    ASSERT_EQ(cfg.visitors.size(), 1u);
    const auto& v = cfg.visitors[0];
    EXPECT_EQ(v.name, "home-ssh");
    EXPECT_EQ(v.server_name, "ssh-secret");
    EXPECT_EQ(v.server_client, "home-nas");
    EXPECT_EQ(v.secret_key, "example-secret");
    EXPECT_EQ(v.bind_port, 6000);
}

TEST(config_load, relative_ca_file_is_resolved_against_the_config_directory) {
    const auto dir = std::filesystem::temp_directory_path() / ("burrow_config_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto file = dir / "client.toml";
    {
        std::FILE* f = std::fopen(file.c_str(), "w");
        ASSERT_NE(f, nullptr);
        std::fputs("server_addr = \"s\"\n[auth]\ntoken = \"t\"\n[tls]\nca_file = \"certs/ca.pem\"\n", f);
        std::fclose(f);
    }
    const auto cfg = load_client_config(file.string());
    EXPECT_EQ(cfg.tls.ca_file, (dir / "certs" / "ca.pem").string());
    std::filesystem::remove_all(dir);
}

TEST(config_load, missing_file_is_a_problem) {
    try {
        load_server_config("/nonexistent/burrow.toml");
        FAIL() << "expected config_error";
    } catch (const config_error& e) {
        ASSERT_EQ(e.problems().size(), 1u);
        EXPECT_EQ(e.problems()[0].to_string(), "/nonexistent/burrow.toml: cannot read the file: No such file or directory");
    }
}

}  // namespace
}  // namespace burrow
