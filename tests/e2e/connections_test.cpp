// The client's pool of connections to the server (client/channel_pool.hpp):
// streams spread over all of them, and one that is cut takes only its own
// streams into a re-attach while the others' carry on untouched.
#include <sys/socket.h>
#include <unistd.h>

#include <regex>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "link_relay.hpp"

namespace burrow::e2e {
namespace {

// The local ports of the client's established connections to `server_port`.
std::set<std::uint16_t> client_connections(std::uint16_t server_port) {
    const auto r = run({"/usr/bin/ss", "-Htn", "state", "established",
                        "( dport = :" + std::to_string(server_port) + " )"});
    std::set<std::uint16_t> ports;
    std::istringstream lines(r.output);
    std::smatch m;
    // gRPC's sockets are dual-stack: "[::ffff:127.0.0.1]:port".
    const std::regex local(R"((?:\[::ffff:)?127\.0\.0\.1\]?:(\d+)\s+\S+:\d+)");
    for (std::string line; std::getline(lines, line);)
        if (std::regex_search(line, m, local)) ports.insert(std::stoi(m[1]));
    return ports;
}

// "streams_per_connection":[a,b,...] from `burrow-client status --json`.
std::vector<std::size_t> streams_per_connection(const std::string& config) {
    const auto r = run({bin("burrow-client"), "status", "-c", config, "--json"});
    std::smatch m;
    std::vector<std::size_t> out;
    if (!std::regex_search(r.output, m, std::regex(R"("streams_per_connection":\[([0-9,]*)\])")))
        return out;
    std::istringstream list(m[1].str());
    for (std::string n; std::getline(list, n, ',');) out.push_back(std::stoul(n));
    return out;
}

std::size_t count_of(const std::string& text, const std::string& pattern) {
    const std::regex re(pattern);
    return static_cast<std::size_t>(
        std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}

// A client with one tcp proxy to `service` over two connections to the
// server; {client, its remote port (0: the proxy did not come up)}.
burrow_lab::exposed two_connections(burrow_lab& lab, std::uint16_t service) {
    const auto config = std::regex_replace(lab.client_config({{"echo", service}}),
                                           std::regex("pool_count = 4\n"),
                                           "pool_count = 4\nconnections = 2\n");
    auto client = lab.start_client(config);
    const auto port = burrow_lab::proxy_port(*client, "echo");
    return {std::move(client), port};
}

struct users {
    std::vector<int> fds;
    ~users() {
        for (int fd : fds) ::close(fd);
    }
    // Opens n users and has each one's echo answer once; false if one fails.
    bool open(std::uint16_t port, int n) {
        for (int i = 0; i < n; ++i) {
            const int fd = connect_tcp(port);
            if (fd < 0) return false;
            fds.push_back(fd);
            timeval tv{30, 0};
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            if (echo_once(fd, "hello " + std::to_string(i)) != "hello " + std::to_string(i))
                return false;
        }
        return true;
    }
    // Every user's echo answers again.
    int answering() {
        int ok = 0;
        for (std::size_t i = 0; i < fds.size(); ++i) {
            const auto msg = "again " + std::to_string(i);
            ok += echo_once(fds[i], msg) == msg;
        }
        return ok;
    }
};

TEST(connections, two_hundred_connections_spread_over_both_connections_to_the_server) {
    tcp_service service(echo_handler);
    burrow_lab lab;
    auto [client, port] = two_connections(lab, service.port());
    ASSERT_NE(port, 0) << client->log();
    const auto config = lab.dir().file("client1.toml");

    users u;
    ASSERT_TRUE(u.open(port, 200));
    EXPECT_EQ(client_connections(lab.server_port()).size(), 2u);
    const auto loads = streams_per_connection(config);
    ASSERT_EQ(loads.size(), 2u);
    const auto total = loads[0] + loads[1];
    EXPECT_GE(total, 200u);  // and the idle pool
    // The least loaded takes each new stream: an even spread, give or take
    // the idle streams.
    EXPECT_GE(std::min(loads[0], loads[1]), total * 2 / 5) << loads[0] << " / " << loads[1];
    EXPECT_EQ(u.answering(), 200);
}

TEST(connections, one_connection_cut_resumes_its_own_streams_and_leaves_the_others_untouched) {
    tcp_service service(echo_handler);
    burrow_lab lab;
    auto [client, port] = two_connections(lab, service.port());
    ASSERT_NE(port, 0) << client->log();
    const auto config = lab.dir().file("client1.toml");
    // The Control stream's connection, from the server's login line.
    const auto control = lab.server().wait_log(R"(client login: #\d+ \S+ \(127\.0\.0\.1:(\d+)\))");
    ASSERT_TRUE(control) << lab.server().log();

    users u;
    ASSERT_TRUE(u.open(port, 20));
    const auto loads = streams_per_connection(config);
    ASSERT_EQ(loads.size(), 2u);
    ASSERT_GT(loads[0], 0u);
    ASSERT_GT(loads[1], 0u);
    const auto conns = client_connections(lab.server_port());
    ASSERT_EQ(conns.size(), 2u);
    ASSERT_TRUE(conns.count(static_cast<std::uint16_t>(std::stoi(*control))));
    std::uint16_t other = 0;
    for (auto p : conns)
        if (p != std::stoi(*control)) other = p;

    // Cut the other one (both ends see it reset), as a NAT that forgot it would.
    const auto cut = run({"/usr/bin/ss", "-K", "-tn",
                          "( sport = :" + std::to_string(other) +
                              " and dport = :" + std::to_string(lab.server_port()) + " )"});
    ASSERT_EQ(cut.code, 0) << cut.output;

    // Every user is answered again, those on the cut connection after a
    // re-attach; the login (on the other connection) stands.
    EXPECT_EQ(u.answering(), 20);
    EXPECT_TRUE(client->wait_log(R"(\[echo/\d+\] resumed after \d+ ms)", 10s)) << client->log();
    const auto log = client->log();
    const auto resumed = count_of(log, R"(\[echo/\d+\] resumed after \d+ ms)");
    EXPECT_GT(resumed, 0u) << log;
    EXPECT_LT(resumed, 20u) << log;  // only the cut connection's sessions
    EXPECT_EQ(count_of(log, "disconnected from"), 0u) << log;
    EXPECT_EQ(count_of(lab.server().log(), "client login:"), 1u) << lab.server().log();
    EXPECT_EQ(count_of(lab.server().log(), R"(\] reset)"), 0u) << lab.server().log();
}

}  // namespace
}  // namespace burrow::e2e
