// Unit tests for common/config: every error class reports file, line, column,
// key and a message a user can act on.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/config_testing.hpp"

namespace burrow {
namespace {

using namespace config_testing;

TEST(config_problem, to_string_names_file_position_and_key) {
    EXPECT_EQ((config_problem{"a.toml", 3, 7, "auth.token", "must not be empty"}.to_string()),
              "a.toml:3:7: auth.token: must not be empty");
    EXPECT_EQ((config_problem{"a.toml", 3, 7, "", "bad syntax"}.to_string()), "a.toml:3:7: bad syntax");
    EXPECT_EQ((config_problem{"a.toml", 0, 0, "", "cannot read"}.to_string()), "a.toml: cannot read");
}

TEST(config_error, what_lists_every_problem_on_its_own_line) {
    const config_error e({{"a.toml", 1, 1, "x", "one"}, {"a.toml", 2, 5, "y", "two"}});
    EXPECT_STREQ(e.what(), "a.toml:1:1: x: one\na.toml:2:5: y: two");
    EXPECT_EQ(e.problems().size(), 2u);
}

TEST(config_parse, syntax_error_is_one_problem_at_the_parser_position) {
    const auto problems = server_problems("bind_port = 7000\nbind_addr = = \"x\"\n");
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].line, 2u);
    EXPECT_EQ(problems[0].column, 13u);
    EXPECT_EQ(problems[0].key, "");
    EXPECT_EQ(problems[0].to_string().rfind("test.toml:2:13: ", 0), 0u) << problems[0].to_string();
}

TEST(config_parse, unknown_keys_are_reported_at_every_level) {
    const auto problems = client_problems(client_base +
                                          "colour = \"blue\"\n"             // line 6
                                          "[transport]\n"                   // line 7
                                          "pool_size = 4\n"                 // line 8
                                          "[[proxies]]\n"                   // line 9
                                          "name = \"ssh\"\n"                // line 10
                                          "local_port = 22\n"               // line 11
                                          "  remote_prot = 6022\n"          // line 12
                                          "[dashboard]\n"                   // line 13
                                          "port = 7500\n");                 // line 14
    ASSERT_EQ(problems.size(), 4u) << config_error(problems).what();
    // Sorted by position, each at its key.
    EXPECT_EQ(problems[0].to_string(), "test.toml:6:1: tls.colour: unknown key");
    EXPECT_EQ(problems[1].to_string(), "test.toml:8:1: transport.pool_size: unknown key");
    EXPECT_EQ(problems[2].to_string(), "test.toml:12:3: proxies[0].remote_prot: unknown key");
    EXPECT_EQ(problems[3].to_string(), "test.toml:13:2: dashboard: unknown key");
}

TEST(config_parse, unknown_key_in_auth_table) {
    expect_one(server_problems("[auth]\ntoken = \"t\"\ntokn = \"u\"\n"), 3, 1, "auth.tokn", "unknown key");
}

TEST(config_parse, wrong_types_name_expected_and_actual) {
    const auto problems = server_problems("bind_port = \"7000\"\n"
                                          "[auth]\n"
                                          "token = 42\n"
                                          "[tls]\n"
                                          "enable = \"yes\"\n"
                                          "[log]\n"
                                          "level = 1.5\n");
    ASSERT_EQ(problems.size(), 4u) << config_error(problems).what();
    EXPECT_EQ(problems[0].to_string(), "test.toml:1:13: bind_port: expected an integer, got a string");
    EXPECT_EQ(problems[1].to_string(), "test.toml:3:9: auth.token: expected a string, got an integer");
    EXPECT_EQ(problems[2].to_string(),
              "test.toml:5:10: tls.enable: expected a boolean (true or false), got a string");
    EXPECT_EQ(problems[3].to_string(),
              "test.toml:7:9: log.level: expected a string, got a floating-point number");
}

TEST(config_parse, table_given_as_value_is_a_type_error) {
    expect_one(client_problems("transport = 4\n" + client_base), 1, 13, "transport",
               "expected a table, got an integer");
    expect_one(client_problems(client_base + "[proxies]\nname = \"x\"\n"), 6, 1, "proxies",
               "expected an array of tables ([[proxies]]), got a table");
}

TEST(config_parse, duplicate_proxy_name_points_at_the_second) {
    expect_one(client_problems(client_base +
                               "[[proxies]]\n"       // line 6
                               "name = \"ssh\"\n"    // line 7
                               "local_port = 22\n"   // line 8
                               "[[proxies]]\n"       // line 9
                               "name = \"ssh\"\n"    // line 10
                               "local_port = 23\n"),
               10, 8, "proxies[1].name", "duplicate proxy name \"ssh\" (first defined at line 7)");
}

TEST(config_parse, duplicate_remote_port) {
    expect_one(client_problems(client_base +
                               "[[proxies]]\n"
                               "name = \"a\"\n"
                               "local_port = 22\n"
                               "remote_port = 6022\n"  // line 9
                               "[[proxies]]\n"
                               "name = \"b\"\n"
                               "local_port = 23\n"
                               "remote_port = 6022\n"),  // line 13
               13, 15, "proxies[1].remote_port", "remote port 6022 is already claimed by proxy \"a\"");
}

TEST(config_parse, bad_ports) {
    expect_one(client_problems("server_port = 0\n" + client_base), 1, 15, "server_port",
               "must be between 1 and 65535, got 0");
    expect_one(client_problems("server_port = 70000\n" + client_base), 1, 15, "server_port",
               "must be between 1 and 65535, got 70000");
    expect_one(client_problems("server_port = -1\n" + client_base), 1, 15, "server_port",
               "must be between 1 and 65535, got -1");
    expect_one(client_problems("server_port = 70.5\n" + client_base), 1, 15, "server_port",
               "expected an integer, got a floating-point number");

    const auto proxy = client_problems(client_base +
                                       "[[proxies]]\n"           // line 6
                                       "name = \"ssh\"\n"
                                       "local_port = 0\n"        // line 8
                                       "remote_port = 65536\n");  // line 9
    ASSERT_EQ(proxy.size(), 2u) << config_error(proxy).what();
    EXPECT_EQ(proxy[0].to_string(), "test.toml:8:14: proxies[0].local_port: must be between 1 and 65535, got 0");
    EXPECT_EQ(proxy[1].to_string(),
              "test.toml:9:15: proxies[0].remote_port: must be between 0 and 65535, got 65536");
}

TEST(config_parse, remote_port_zero_lets_the_server_pick) {
    const auto cfg = parse_client_config(client_base +
                                             "[[proxies]]\nname = \"web\"\nlocal_port = 5000\nremote_port = 0\n",
                                         "test.toml");
    ASSERT_EQ(cfg.proxies.size(), 1u);
    EXPECT_EQ(cfg.proxies[0].remote_port, 0);
}

TEST(config_parse, integers_must_fit_their_field) {
    const auto problems = server_problems("heartbeat_timeout = 1099511627776\n"
                                          "work_timeout = -1\n"
                                          "[auth]\ntoken = \"t\"\n");
    ASSERT_EQ(problems.size(), 2u) << config_error(problems).what();
    EXPECT_EQ(problems[0].to_string(),
              "test.toml:1:21: heartbeat_timeout: must be between 1 and 4294967295, got 1099511627776");
    EXPECT_EQ(problems[1].to_string(), "test.toml:2:16: work_timeout: must be between 1 and 4294967295, got -1");
}

TEST(config_parse, server_requires_auth_token) {
    // No [auth] at all: reported at the document (the enclosing table).
    expect_one(server_problems("bind_port = 7000\n"), 1, 1, "auth.token", "required key is missing");
    // [auth] without a token: reported at the table.
    expect_one(server_problems("bind_port = 7000\n[auth]\n"), 2, 1, "auth.token", "required key is missing");
    expect_one(server_problems("[auth]\ntoken = \"\"\n"), 2, 9, "auth.token", "must not be empty");
}

// [[auth.clients]]: a token per client id, beside or instead of the shared one.
TEST(config_parse, server_per_client_tokens) {
    const auto cfg = parse_server_config("[auth]\n"
                                         "[[auth.clients]]\nid = \"home-nas\"\ntoken = \"a\"\n"
                                         "[[auth.clients]]\nid = \"laptop\"\ntoken = \"b\"\n",
                                         "test.toml");
    EXPECT_TRUE(cfg.auth.token.empty());
    ASSERT_EQ(cfg.auth.clients.size(), 2u);
    EXPECT_EQ(cfg.auth.clients[1].id, "laptop");
    EXPECT_EQ(cfg.auth.clients[1].token, "b");
    // Each problem at its place.
    expect_one(server_problems("[auth]\ntoken = \"t\"\n[[auth.clients]]\nid = \"a\"\ntoken = \"x\"\n"
                               "[[auth.clients]]\nid = \"a\"\ntoken = \"y\"\n"),
               7, 6, "auth.clients[1].id", "client id \"a\" is listed twice (first at line 4)");
    expect_one(server_problems("[auth]\n[[auth.clients]]\nid = \"a\"\n"), 2, 1,
               "auth.clients[0].token", "required key is missing");
    expect_one(server_problems("[auth]\n[[auth.clients]]\nid = \"a\"\ntoken = \"\"\n"), 4, 9,
               "auth.clients[0].token", "must not be empty");
    expect_one(server_problems("[auth]\n[[auth.clients]]\ntoken = \"x\"\n"), 2, 1,
               "auth.clients[0].id", "required");
    expect_one(server_problems("[auth]\n[[auth.clients]]\nid = \"no spaces\"\ntoken = \"x\"\n"), 3, 6,
               "auth.clients[0].id", "client id");
    expect_one(server_problems("[auth]\n[[auth.clients]]\nid = \"a\"\ntoken = \"x\"\nrole = 1\n"), 5, 1,
               "auth.clients[0].role", "unknown key");
    expect_one(server_problems("[auth]\nclients = 3\n"), 2, 11, "auth.clients", "array of tables");
    expect_one(server_problems("[auth]\nclients = []\n"), 2, 11, "auth.clients", "nobody could log in");
}

TEST(config_parse, client_required_keys) {
    const auto problems = client_problems("[tls]\n"                  // line 1
                                          "enable = false\n"
                                          "[[proxies]]\n"            // line 3
                                          "type = \"tcp\"\n");
    ASSERT_EQ(problems.size(), 4u) << config_error(problems).what();
    EXPECT_EQ(problems[0].to_string(), "test.toml:1:1: server_addr: required key is missing");
    EXPECT_EQ(problems[1].to_string(), "test.toml:1:1: auth.token: required key is missing");
    EXPECT_EQ(problems[2].to_string(), "test.toml:3:1: proxies[0].name: required key is missing");
    EXPECT_EQ(problems[3].to_string(), "test.toml:3:1: proxies[0].local_port: required key is missing");
}

TEST(config_parse, client_tls_needs_fingerprint_or_ca) {
    expect_one(client_problems("server_addr = \"s\"\n[auth]\ntoken = \"t\"\n[tls]\nenable = true\n"), 4, 1,
               "tls.server_fingerprint", "tls.server_fingerprint or tls.ca_file is required");
    // TLS is on by default, so a missing [tls] table is the same problem, at the document.
    expect_one(client_problems("server_addr = \"s\"\n[auth]\ntoken = \"t\"\n"), 1, 1,
               "tls.server_fingerprint", "tls.server_fingerprint or tls.ca_file is required");
    const auto cfg = parse_client_config("server_addr = \"s\"\n[auth]\ntoken = \"t\"\n[tls]\nca_file = \"ca.pem\"\n",
                                         "test.toml");
    EXPECT_EQ(cfg.tls.ca_file, "ca.pem");  // parse_* keeps relative paths as given
}

TEST(config_parse, heartbeat_timeout_must_exceed_interval) {
    expect_one(client_problems(client_base + "[transport]\nheartbeat_interval = 10\nheartbeat_timeout = 10\n"),
               8, 21, "transport.heartbeat_timeout", "must be greater than heartbeat_interval");
    // Only the interval given: the default timeout (30) is too small for it.
    expect_one(client_problems(client_base + "[transport]\nheartbeat_interval = 40\n"), 7, 22,
               "transport.heartbeat_interval", "heartbeat_timeout (30) must be greater than heartbeat_interval (40)");
}

TEST(config_parse, pool_count_is_at_most_64) {
    expect_one(client_problems(client_base + "[transport]\npool_count = 65\n"), 7, 14, "transport.pool_count",
               "must be between 0 and 64, got 65");
    EXPECT_EQ(parse_client_config(client_base + "[transport]\npool_count = 0\n", "t").transport.pool_count, 0u);
}

TEST(config_parse, connections_are_1_to_8_and_at_most_pool_count) {
    EXPECT_EQ(parse_client_config(client_base, "t").transport.connections, 1u);
    EXPECT_EQ(parse_client_config(client_base + "[transport]\nconnections = 4\n", "t").transport.connections,
              4u);
    expect_one(client_problems(client_base + "[transport]\nconnections = 9\n"), 7, 15,
               "transport.connections", "must be between 1 and 8, got 9");
    expect_one(client_problems(client_base + "[transport]\nconnections = 0\n"), 7, 15,
               "transport.connections", "must be between 1 and 8, got 0");
    // Idle Work streams keep each connection open: no more connections than them.
    expect_one(client_problems(client_base + "[transport]\npool_count = 2\nconnections = 3\n"), 8, 15,
               "transport.connections", "connections (3) must not exceed pool_count (2)");
    // A pool of none still has its one connection (for the Control stream).
    EXPECT_EQ(parse_client_config(client_base + "[transport]\npool_count = 0\n", "t").transport.connections,
              1u);
    EXPECT_EQ(parse_client_config(client_base + "[transport]\npool_count = 0\nconnections = 1\n", "t")
                  .transport.connections,
              1u);
}

const std::string http_proxy_head =
    "[[proxies]]\n"              // line 6
    "name = \"nas\"\n"           // line 7
    "type = \"http\"\n"          // line 8
    "local_port = 5000\n";       // line 9

// Found while fuzzing the config loader: a CR LF in host_header_rewrite went
// raw into the Host line sent to the service.
TEST(config_parse, host_header_rewrite_holds_only_visible_ascii) {
    expect_one(client_problems(client_base + http_proxy_head +
                               "custom_domains = [\"nas.example.com\"]\n"
                               "host_header_rewrite = \"nas\\r\\nX-Injected: 1\"\n"),
               11, 23, "proxies[0].host_header_rewrite", "only visible ASCII");
    EXPECT_EQ(host_header_problem("nas.local:8080"), "");
    EXPECT_NE(host_header_problem("a b"), "");
    EXPECT_NE(host_header_problem(std::string(256, 'a')), "");
}

TEST(config_parse, http_proxy_with_every_key) {
    const auto cfg = parse_client_config(
        client_base + http_proxy_head +
            "custom_domains = [\"nas.example.com\", \"*.example.org\"]\n"
            "subdomain = \"nas\"\n"
            "locations = [\"/\", \"/api\"]\n"
            "host_header_rewrite = \"nas.local\"\n"
            "request_headers = { \"X-From\" = \"burrow\" }\n"
            "response_headers = { \"X-Frame-Options\" = \"DENY\" }\n"
            "http_user = \"me\"\n"
            "http_password = \"secret\"\n"
            "response_timeout = 5\n",
        "t");
    ASSERT_EQ(cfg.proxies.size(), 1u);
    const auto& p = cfg.proxies[0];
    EXPECT_EQ(p.type, "http");
    EXPECT_EQ(p.custom_domains, (std::vector<std::string>{"nas.example.com", "*.example.org"}));
    EXPECT_EQ(p.subdomain, "nas");
    EXPECT_EQ(p.locations, (std::vector<std::string>{"/", "/api"}));
    EXPECT_EQ(p.host_header_rewrite, "nas.local");
    ASSERT_EQ(p.request_headers.size(), 1u);
    EXPECT_EQ(p.request_headers[0], (std::pair<std::string, std::string>{"X-From", "burrow"}));
    ASSERT_EQ(p.response_headers.size(), 1u);
    EXPECT_EQ(p.http_user, "me");
    EXPECT_EQ(p.http_password, "secret");
    EXPECT_EQ(p.response_timeout, 5u);
}

TEST(config_parse, http_proxy_needs_a_domain) {
    expect_one(client_problems(client_base + http_proxy_head), 6, 1, "proxies[0].custom_domains",
               "a http proxy needs custom_domains or subdomain");
    // An empty list is no domain either (found by fuzzing: the server refused it).
    expect_one(client_problems(client_base + http_proxy_head + "custom_domains = []\n"), 10, 18,
               "proxies[0].custom_domains", "a http proxy needs custom_domains or subdomain");
}

TEST(config_parse, http_user_cannot_hold_the_basic_auth_separator) {
    expect_one(client_problems(client_base + http_proxy_head +
                               "custom_domains = [\"a.example.com\"]\nhttp_user = \"a:b\"\n"
                               "http_password = \"pw\"\n"),
               11, 13, "proxies[0].http_user", "must not contain ':'");
}

TEST(config_parse, http_proxy_problems_point_at_the_value) {
    const auto with = [](const std::string& line) {
        return client_problems(client_base + http_proxy_head + "custom_domains = [\"a.example.com\"]\n" + line);
    };
    expect_one(client_problems(client_base + http_proxy_head + "custom_domains = [\"ok.test\", \"bad_name.test\"]\n"),
               10, 30, "proxies[0].custom_domains[1]", "character '_' is not allowed");
    expect_one(with("remote_port = 80\n"), 11, 15, "proxies[0].remote_port", "vhost_http_port");
    expect_one(with("locations = [\"api\"]\n"), 11, 14, "proxies[0].locations[0]", "must start with '/'");
    expect_one(with("subdomain = \"a.b\"\n"), 11, 13, "proxies[0].subdomain", "single label");
    expect_one(with("request_headers = { \"Content-Length\" = \"1\" }\n"), 11, 21,
               "proxies[0].request_headers.Content-Length", "frames the message");
    expect_one(with("request_headers = { \"Host\" = \"x\" }\n"), 11, 21, "proxies[0].request_headers.Host",
               "host_header_rewrite");
    expect_one(with("response_headers = { \"X-A\" = \"a\\r\\nX-B: b\" }\n"), 11, 22,
               "proxies[0].response_headers.X-A", "line break");
    expect_one(with("http_user = \"me\"\n"), 6, 1, "proxies[0].http_password", "required when http_user is set");
    expect_one(with("response_timeout = 0\n"), 11, 20, "proxies[0].response_timeout", "between 1 and 86400");
}

TEST(config_parse, tcp_and_https_proxies_reject_http_only_keys) {
    expect_one(client_problems(client_base + "[[proxies]]\nname = \"s\"\nlocal_port = 22\ncustom_domains = [\"a.test\"]\n"),
               9, 1, "proxies[0].custom_domains", "unknown key");
    expect_one(client_problems(client_base + "[[proxies]]\nname = \"s\"\ntype = \"https\"\nlocal_port = 443\n"
                                             "custom_domains = [\"a.test\"]\nlocations = [\"/x\"]\n"),
               11, 1, "proxies[0].locations", "unknown key");
    expect_one(client_problems(client_base + "[[proxies]]\nname = \"s\"\ntype = \"udp\"\nlocal_port = 1\n"), 8, 8,
               "proxies[0].type", "unknown proxy type \"udp\" (expected tcp, http, https or secret)");
}

TEST(config_parse, server_vhost_keys) {
    const auto cfg = parse_server_config(
        "vhost_http_port = 8080\nvhost_https_port = 8443\nsubdomain_host = \"Example.com\"\n"
        "vhost_header_timeout = 5\nvhost_max_body_size = 1048576\n[auth]\ntoken = \"t\"\n",
        "t");
    EXPECT_EQ(cfg.vhost_http_port, 8080);
    EXPECT_EQ(cfg.vhost_https_port, 8443);
    EXPECT_EQ(cfg.vhost_header_timeout, 5u);
    EXPECT_EQ(cfg.vhost_max_body_size, 1048576u);
    const auto defaults = parse_server_config("[auth]\ntoken = \"t\"\n", "t");
    EXPECT_EQ(defaults.vhost_http_port, 0);
    EXPECT_EQ(defaults.vhost_https_port, 0);
    EXPECT_EQ(defaults.vhost_header_timeout, 60u);
    EXPECT_EQ(defaults.vhost_max_body_size, 0u);
    expect_one(server_problems("subdomain_host = \"*.example.com\"\n[auth]\ntoken = \"t\"\n"), 1, 18,
               "subdomain_host", "plain domain");
    expect_one(server_problems("vhost_http_port = 80\nvhost_https_port = 80\n[auth]\ntoken = \"t\"\n"), 2, 20,
               "vhost_https_port", "must differ");
}

TEST(config_parse, malformed_fingerprints) {
    for (const std::string& bad : {
             "sha1:" + fingerprint_hex,
             "sha256:" + fingerprint_hex.substr(2),           // too short
             "sha256:" + fingerprint_hex + "00",              // too long
             "sha256:zz" + fingerprint_hex.substr(2),         // not hex
             "sha256:3f:a2" + fingerprint_hex.substr(4),      // colons only in part
             "sha256: " + fingerprint_hex.substr(1),          // space
         }) {
        SCOPED_TRACE(bad);
        expect_one(client_problems(client_base + "server_fingerprint = \"" + bad + "\"\n"), 6, 22,
                   "tls.server_fingerprint", "malformed fingerprint");
    }
}

TEST(config_parse, fingerprint_is_normalised) {
    std::string colons;
    for (std::size_t i = 0; i < fingerprint_hex.size(); i += 2) {
        if (!colons.empty()) colons += ':';
        colons += fingerprint_hex.substr(i, 2);
    }
    std::string upper = colons;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (const std::string& given : {"sha256:" + fingerprint_hex, "sha256:" + colons, "SHA256:" + upper}) {
        SCOPED_TRACE(given);
        const auto cfg = parse_client_config(client_base + "server_fingerprint = \"" + given + "\"\n", "t");
        EXPECT_EQ(cfg.tls.server_fingerprint, "sha256:" + fingerprint_hex);
    }
}

TEST(config_parse, tls_cert_file_needs_key_file) {
    expect_one(server_problems("[auth]\ntoken = \"t\"\n[tls]\ncert_file = \"server.crt\"\n"), 3, 1, "tls.key_file",
               "required when tls.cert_file is set");
    expect_one(server_problems("[auth]\ntoken = \"t\"\n[tls]\nkey_file = \"server.key\"\n"), 3, 1, "tls.cert_file",
               "required when tls.key_file is set");
}

TEST(config_parse, log_level_must_be_known) {
    expect_one(server_problems("[auth]\ntoken = \"t\"\n[log]\nlevel = \"verbose\"\n"), 4, 9, "log.level",
               "unknown log level \"verbose\"");
}

TEST(config_parse, proxy_names_are_checked) {
    const auto proxy = [](const std::string& name) {
        return client_problems(client_base + "[[proxies]]\nname = \"" + name + "\"\nlocal_port = 22\n");
    };
    expect_one(proxy(""), 7, 8, "proxies[0].name", "must not be empty");
    expect_one(proxy("my ssh"), 7, 8, "proxies[0].name", "may only contain letters, digits, '.', '_' and '-'");
    expect_one(proxy("ssh/1"), 7, 8, "proxies[0].name", "may only contain");
    expect_one(proxy(std::string(65, 'a')), 7, 8, "proxies[0].name", "at most 64");
    EXPECT_TRUE(proxy(std::string(64, 'a')).empty());
    EXPECT_TRUE(proxy("My.ssh_2-b").empty());
}

TEST(config_parse, allow_ports_accepts_ints_singles_and_ranges) {
    const auto cfg = parse_server_config("allow_ports = [7022, \"8000\", \"6000-6100\", \"9000-9000\"]\n"
                                         "[auth]\ntoken = \"t\"\n",
                                         "t");
    ASSERT_EQ(cfg.allow_ports.size(), 4u);
    EXPECT_EQ(cfg.allow_ports[0].first, 7022);
    EXPECT_EQ(cfg.allow_ports[0].last, 7022);
    EXPECT_EQ(cfg.allow_ports[1].first, 8000);
    EXPECT_EQ(cfg.allow_ports[1].last, 8000);
    EXPECT_EQ(cfg.allow_ports[2].first, 6000);
    EXPECT_EQ(cfg.allow_ports[2].last, 6100);
    EXPECT_TRUE(cfg.allow_ports[2].contains(6050));
    EXPECT_FALSE(cfg.allow_ports[2].contains(6101));
    EXPECT_EQ(cfg.allow_ports[3].first, 9000);
    EXPECT_EQ(cfg.allow_ports[3].last, 9000);
}

TEST(config_parse, allow_ports_problems_name_the_element) {
    const auto problems = server_problems("allow_ports = [0, \"7000-6000\", \"6000 - 6100\", true, 70000]\n"
                                          "[auth]\ntoken = \"t\"\n");
    ASSERT_EQ(problems.size(), 5u) << config_error(problems).what();
    EXPECT_EQ(problems[0].to_string(), "test.toml:1:16: allow_ports[0]: must be between 1 and 65535, got 0");
    EXPECT_EQ(problems[1].to_string(),
              "test.toml:1:19: allow_ports[1]: port range \"7000-6000\" is empty: 7000 is greater than 6000");
    EXPECT_EQ(problems[2].column, 32u);
    EXPECT_EQ(problems[2].key, "allow_ports[2]");
    EXPECT_NE(problems[2].message.find("malformed port range \"6000 - 6100\""), std::string::npos);
    EXPECT_EQ(problems[3].to_string(),
              "test.toml:1:47: allow_ports[3]: expected a port number or a \"first-last\" range string, got a boolean");
    EXPECT_EQ(problems[4].to_string(), "test.toml:1:53: allow_ports[4]: must be between 1 and 65535, got 70000");

    expect_one(server_problems("allow_ports = \"6000-6100\"\n[auth]\ntoken = \"t\"\n"), 1, 15, "allow_ports",
               "expected an array of ports and port ranges, got a string");
}

TEST(config_parse, all_problems_are_collected) {
    const auto problems = client_problems("server_port = 0\n"
                                          "[tls]\n"
                                          "server_fingerprint = \"nope\"\n"
                                          "[transport]\n"
                                          "pool_count = 100\n"
                                          "[log]\n"
                                          "level = \"loud\"\n");
    ASSERT_EQ(problems.size(), 6u) << config_error(problems).what();
    const std::string what = config_error(problems).what();
    for (const char* key : {"server_addr", "server_port", "auth.token", "tls.server_fingerprint",
                            "transport.pool_count", "log.level"}) {
        EXPECT_NE(what.find(std::string(": ") + key + ": "), std::string::npos) << key << "\n" << what;
    }
}

TEST(config_parse, secret_proxy_and_visitor_with_every_key) {
    const auto cfg = parse_client_config(client_base +
                                             "[[proxies]]\n"
                                             "name = \"ssh-secret\"\n"
                                             "type = \"secret\"\n"
                                             "local_port = 22\n"
                                             "secret_key = \"another-secret\"\n"
                                             "allow_clients = [\"laptop\", \"phone\"]\n"
                                             "p2p = true\n"
                                             "[[visitors]]\n"
                                             "name = \"home-ssh\"\n"
                                             "server_name = \"ssh-secret\"\n"
                                             "server_client = \"home\"\n"
                                             "secret_key = \"another-secret\"\n"
                                             "bind_addr = \"127.0.0.2\"\n"
                                             "bind_port = 6000\n"
                                             "p2p = true\n",
                                         "test.toml");
    ASSERT_EQ(cfg.proxies.size(), 1u);
    const auto& p = cfg.proxies[0];
    EXPECT_EQ(p.type, "secret");
    EXPECT_EQ(p.secret_key, "another-secret");
    EXPECT_EQ(p.allow_clients, (std::vector<std::string>{"laptop", "phone"}));
    EXPECT_TRUE(p.p2p);
    ASSERT_EQ(cfg.visitors.size(), 1u);
    const auto& v = cfg.visitors[0];
    EXPECT_EQ(v.name, "home-ssh");
    EXPECT_EQ(v.server_name, "ssh-secret");
    EXPECT_EQ(v.server_client, "home");
    EXPECT_EQ(v.bind_addr, "127.0.0.2");
    EXPECT_EQ(v.bind_port, 6000);
    EXPECT_TRUE(v.p2p);
}

TEST(config_parse, secret_proxy_problems_point_at_the_key) {
    const std::string head = client_base + "[[proxies]]\nname = \"s\"\ntype = \"secret\"\n"
                                           "local_port = 22\n";  // lines 6-9
    expect_one(client_problems(head), 6, 1, "proxies[0].secret_key", "required");
    expect_one(client_problems(head + "secret_key = \"short\"\n"), 10, 14,
               "proxies[0].secret_key", "at least 8 bytes");
    expect_one(client_problems(head + "secret_key = \"long-enough\"\nremote_port = 6000\n"), 11,
               15, "proxies[0].remote_port", "no public port");
    expect_one(client_problems(head + "secret_key = \"long-enough\"\nallow_clients = [\"a b\"]\n"),
               11, 18, "proxies[0].allow_clients[0]", "may only contain");
    expect_one(client_problems(head + "secret_key = \"long-enough\"\ncustom_domains = [\"x.y\"]\n"),
               11, 1, "proxies[0].custom_domains", "unknown key");
}

TEST(config_parse, visitor_problems_point_at_the_key) {
    const std::string v = client_base + "[[visitors]]\nname = \"v\"\n";  // lines 6-7
    const auto problems = client_problems(v);
    ASSERT_EQ(problems.size(), 2u) << config_error(problems).what();
    EXPECT_EQ(problems[0].key, "visitors[0].server_name");
    EXPECT_EQ(problems[1].key, "visitors[0].secret_key");
    const std::string ok = v + "server_name = \"s\"\nsecret_key = \"long-enough\"\n";
    expect_one(client_problems(ok + "bind_port = 70000\n"), 10, 13, "visitors[0].bind_port",
               "");
    expect_one(client_problems(ok + "local_port = 1\n"), 10, 1, "visitors[0].local_port",
               "unknown key");
    expect_one(client_problems(ok + "bind_port = 6000\n[[visitors]]\nname = \"w\"\n"
                                    "server_name = \"s\"\nsecret_key = \"long-enough\"\n"
                                    "bind_port = 6000\n"),
               15, 13, "visitors[1].bind_port", "already the bind address of visitor \"v\"");
    const auto dup = client_problems(ok + "[[visitors]]\nname = \"v\"\nserver_name = \"s\"\n"
                                          "secret_key = \"long-enough\"\n");
    ASSERT_EQ(dup.size(), 1u) << config_error(dup).what();
    EXPECT_NE(dup[0].message.find("duplicate visitor name \"v\" (first defined at line 7)"),
              std::string::npos)
        << dup[0].to_string();
}

TEST(config_parse, server_dashboard_keys) {
    const auto defaults = parse_server_config("[auth]\ntoken = \"t\"\n", "t");
    EXPECT_EQ(defaults.dashboard.port, 0) << "off unless asked for";
    EXPECT_EQ(defaults.dashboard.addr, "127.0.0.1");
    EXPECT_EQ(defaults.dashboard.user, "admin");
    const auto cfg = parse_server_config(
        "[auth]\ntoken = \"t\"\n[dashboard]\naddr = \"0.0.0.0\"\nport = 7500\nuser = \"ops\"\n"
        "password = \"pw\"\n",
        "t");
    EXPECT_EQ(cfg.dashboard.addr, "0.0.0.0");
    EXPECT_EQ(cfg.dashboard.port, 7500);
    EXPECT_EQ(cfg.dashboard.user, "ops");
    EXPECT_EQ(cfg.dashboard.password, "pw");
    // Loopback needs no password; anything else does.
    EXPECT_TRUE(server_problems("[auth]\ntoken = \"t\"\n[dashboard]\nport = 7500\n").empty());
    expect_one(server_problems("[auth]\ntoken = \"t\"\n[dashboard]\naddr = \"0.0.0.0\"\nport = 7500\n"),
               4, 8, "dashboard.addr", "dashboard.password is required");
    expect_one(server_problems("[auth]\ntoken = \"t\"\n[dashboard]\naddr = \"nas.local\"\n"), 4, 8,
               "dashboard.addr", "must be an IP address");
    expect_one(server_problems("[auth]\ntoken = \"t\"\n[dashboard]\nuser = \"\"\n"), 4, 8,
               "dashboard.user", "");
    expect_one(server_problems("[auth]\ntoken = \"t\"\n[dashboard]\ncolour = 1\n"), 4, 1,
               "dashboard.colour", "unknown key");
}

TEST(config_parse, server_p2p_keys) {
    const auto defaults = parse_server_config("bind_port = 7100\n[auth]\ntoken = \"t\"\n", "t.toml");
    EXPECT_TRUE(defaults.p2p.enable) << "the rendezvous is on unless turned off";
    EXPECT_EQ(defaults.p2p.rendezvous_port, 7100) << "the gRPC port's number, over UDP";
    const auto cfg = parse_server_config(
        "[auth]\ntoken = \"t\"\n[p2p]\nenable = false\nrendezvous_port = 0\n", "t.toml");
    EXPECT_FALSE(cfg.p2p.enable);
    EXPECT_EQ(cfg.p2p.rendezvous_port, 0) << "0 = any free pair of ports";
    expect_one(server_problems("[auth]\ntoken = \"t\"\n[p2p]\nrendezvous_port = 65535\n"), 4, 19,
               "p2p.rendezvous_port", "must be at most 65534");
    expect_one(server_problems("bind_port = 65535\n[auth]\ntoken = \"t\"\n"), 1, 1,
               "p2p.rendezvous_port", "required when bind_port is 65535");
    EXPECT_TRUE(server_problems("bind_port = 65535\n[auth]\ntoken = \"t\"\n[p2p]\nenable = false\n")
                    .empty());
    expect_one(server_problems("[auth]\ntoken = \"t\"\n[p2p]\nport = 7000\n"), 4, 1, "p2p.port",
               "unknown key");
}

TEST(config_parse, client_p2p_keys) {
    const auto defaults = parse_client_config(
        "server_addr = \"s\"\n[auth]\ntoken = \"t\"\n[tls]\nenable = false\n", "t.toml");
    EXPECT_EQ(defaults.p2p.keepalive, 15u);
    EXPECT_EQ(defaults.p2p.punch_timeout, 5u);
    const std::string head = "server_addr = \"s\"\n[auth]\ntoken = \"t\"\n[tls]\nenable = false\n[p2p]\n";
    const auto cfg = parse_client_config(head + "keepalive = 1\npunch_timeout = 10\n", "t.toml");
    EXPECT_EQ(cfg.p2p.keepalive, 1u);
    EXPECT_EQ(cfg.p2p.punch_timeout, 10u);
    expect_one(client_problems(head + "keepalive = 0\n"), 7, 13, "p2p.keepalive", "");
    expect_one(client_problems(head + "punch_timeout = 61\n"), 7, 17, "p2p.punch_timeout", "");
    expect_one(client_problems(head + "keep_alive = 3\n"), 7, 1, "p2p.keep_alive", "unknown key");
}

}  // namespace
}  // namespace burrow
