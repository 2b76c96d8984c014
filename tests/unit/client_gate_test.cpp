#include "server/client_gate.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace burrow {
namespace {

using boost::asio::ip::make_address;

// A connected pair standing in for an accepted socket: the gate gets one end
// (and closes only its duplicate), the test watches the other.
struct fake_connection {
    int fds[2] = {-1, -1};
    fake_connection() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0); }
    ~fake_connection() {
        for (int fd : fds) ::close(fd);
    }
    int accepted() const { return fds[0]; }
    // Whether the gate shut the connection down (the other end reads EOF).
    bool shut_down() const {
        char c;
        return ::recv(fds[1], &c, 1, MSG_DONTWAIT) == 0;
    }
};

// The same over loopback TCP, for the byte bound (the kernel counts what a
// TCP connection received).
struct tcp_connection {
    int peer = -1, accepted_fd = -1, reader = -1;
    tcp_connection() {
        const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        EXPECT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        EXPECT_EQ(::listen(listener, 1), 0);
        EXPECT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len), 0);
        peer = ::socket(AF_INET, SOCK_STREAM, 0);
        EXPECT_EQ(::connect(peer, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        accepted_fd = ::accept(listener, nullptr, nullptr);
        reader = ::dup(accepted_fd);  // gRPC's reading, as far as the kernel can tell
        ::close(listener);
    }
    ~tcp_connection() {
        for (int fd : {peer, accepted_fd, reader}) ::close(fd);
    }
    int accepted() const { return accepted_fd; }
    // The peer sends n bytes, and they are read at the other end.
    void send(std::size_t n) {
        std::vector<char> buf(n, 'x');
        EXPECT_EQ(::send(peer, buf.data(), n, 0), static_cast<ssize_t>(n));
        std::size_t got = 0;
        while (got < n) {
            const auto k = ::recv(reader, buf.data(), n - got, 0);
            ASSERT_GT(k, 0);
            got += static_cast<std::size_t>(k);
        }
    }
    bool shut_down() const {
        char c;
        return ::recv(peer, &c, 1, MSG_DONTWAIT) == 0;
    }
};

client_gate::endpoint ep(const char* address, std::uint16_t port) {
    return {make_address(address), port};
}

TEST(client_gate, parses_the_peers_grpc_names) {
    EXPECT_EQ(client_gate::parse_grpc_peer("ipv4:1.2.3.4:5678"), ep("1.2.3.4", 5678));
    EXPECT_EQ(client_gate::parse_grpc_peer("ipv6:%5B::1%5D:80"), ep("::1", 80));
    EXPECT_EQ(client_gate::parse_grpc_peer("ipv6:[::1]:80"), ep("::1", 80));
    // A dual-stack socket's IPv4 peers are named as IPv4.
    EXPECT_EQ(client_gate::parse_grpc_peer("ipv6:[::ffff:10.0.0.1]:9"), ep("10.0.0.1", 9));
    EXPECT_FALSE(client_gate::parse_grpc_peer("unix:/tmp/x"));
    EXPECT_FALSE(client_gate::parse_grpc_peer("ipv4:1.2.3.4"));
    EXPECT_FALSE(client_gate::parse_grpc_peer("ipv4:nonsense:1"));
    EXPECT_FALSE(client_gate::parse_grpc_peer("ipv4:1.2.3.4:70000"));
}

TEST(client_gate, bounds_connections_per_address_and_in_total_oldest_first) {
    client_gate gate({.per_address = 2, .total = 3, .streams = 8});
    std::vector<fake_connection> c(5);
    EXPECT_TRUE(gate.admit(ep("192.0.2.1", 1), c[0].accepted()));
    EXPECT_TRUE(gate.admit(ep("192.0.2.1", 2), c[1].accepted()));
    EXPECT_FALSE(gate.admit(ep("192.0.2.1", 3), c[2].accepted())) << "over the address's share";
    EXPECT_TRUE(gate.admit(ep("192.0.2.2", 1), c[3].accepted()));
    EXPECT_FALSE(c[0].shut_down());
    // The table is full: the oldest makes room for the newcomer.
    EXPECT_TRUE(gate.admit(ep("192.0.2.3", 1), c[4].accepted()));
    EXPECT_TRUE(c[0].shut_down());
    EXPECT_FALSE(c[1].shut_down());
    // It no longer counts against its address.
    EXPECT_TRUE(gate.admit(ep("192.0.2.1", 4), c[2].accepted()));
}

// Shut-down connections keep gRPC's descriptor for a while: in a flood,
// newcomers are refused once the eviction budget of the window is spent,
// and admitted again once the window has passed.
TEST(client_gate, a_flood_of_newcomers_spends_the_eviction_budget_and_is_refused) {
    client_gate gate({.per_address = 16,
                      .total = 2,
                      .streams = 8,
                      .evictions = 3,
                      .eviction_window = std::chrono::milliseconds(200)});
    std::vector<fake_connection> c(8);
    EXPECT_TRUE(gate.admit(ep("192.0.2.1", 1), c[0].accepted()));
    EXPECT_TRUE(gate.admit(ep("192.0.2.1", 2), c[1].accepted()));
    for (std::uint16_t i = 3; i <= 5; ++i)  // three make room for three
        EXPECT_TRUE(gate.admit(ep("192.0.2.1", i), c[i - 1].accepted())) << i;
    EXPECT_FALSE(gate.admit(ep("192.0.2.1", 6), c[5].accepted())) << "budget spent";
    EXPECT_FALSE(c[4].shut_down()) << "the table is left as it was";
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    EXPECT_TRUE(gate.admit(ep("192.0.2.1", 7), c[6].accepted()));
}

TEST(client_gate, too_many_streams_before_login_shut_the_connection) {
    client_gate gate({.per_address = 4, .total = 4, .streams = 2});
    fake_connection c;
    ASSERT_TRUE(gate.admit(ep("192.0.2.1", 7), c.accepted()));
    const auto a = gate.open_stream("ipv4:192.0.2.1:7");
    const auto b = gate.open_stream("ipv4:192.0.2.1:7");
    ASSERT_TRUE(a && b);
    EXPECT_NE(*a, 0u);
    gate.close_stream("ipv4:192.0.2.1:7", *a);
    EXPECT_TRUE(gate.open_stream("ipv4:192.0.2.1:7")) << "a closed stream no longer counts";
    EXPECT_FALSE(gate.open_stream("ipv4:192.0.2.1:7"));
    EXPECT_TRUE(c.shut_down());
}

TEST(client_gate, a_logged_in_connection_is_unbounded_and_not_shut_at_the_deadline) {
    client_gate gate({.per_address = 1, .total = 4, .streams = 1,
                      .login_window = std::chrono::seconds(0)});
    fake_connection in, out;
    ASSERT_TRUE(gate.admit(ep("192.0.2.1", 7), in.accepted()));
    ASSERT_TRUE(gate.admit(ep("192.0.2.2", 7), out.accepted()));
    gate.logged_in("ipv4:192.0.2.1:7");
    for (int i = 0; i < 10; ++i) EXPECT_EQ(gate.open_stream("ipv4:192.0.2.1:7"), 0u);
    gate.expire(client_gate::clock::now());
    EXPECT_FALSE(in.shut_down());
    EXPECT_TRUE(out.shut_down()) << "no login within the window";
}

// What a connection received before its login is bounded: over the bound at
// two sweeps in a row, it is shut down; one sweep over it is the grace for
// streams that race ahead of their login. A logged-in one is not counted.
TEST(client_gate, a_connection_that_receives_too_much_before_its_login_is_shut_down) {
    client_gate gate({.per_address = 4, .total = 4, .streams = 8, .bytes = 64 << 10});
    tcp_connection small, big, logged;
    ASSERT_TRUE(gate.admit(ep("192.0.2.1", 1), small.accepted()));
    ASSERT_TRUE(gate.admit(ep("192.0.2.1", 2), big.accepted()));
    ASSERT_TRUE(gate.admit(ep("192.0.2.1", 3), logged.accepted()));
    gate.logged_in("ipv4:192.0.2.1:3");
    small.send(16 << 10);
    big.send(100 << 10);
    logged.send(1 << 20);
    gate.expire(client_gate::clock::now());
    EXPECT_FALSE(big.shut_down()) << "one sweep of grace";
    gate.expire(client_gate::clock::now());
    EXPECT_TRUE(big.shut_down());
    EXPECT_FALSE(small.shut_down());
    EXPECT_FALSE(logged.shut_down());
}

// A login that comes within the grace keeps the connection.
TEST(client_gate, a_login_within_the_grace_keeps_the_connection) {
    client_gate gate({.per_address = 4, .total = 4, .streams = 8, .bytes = 64 << 10});
    tcp_connection c;
    ASSERT_TRUE(gate.admit(ep("192.0.2.1", 1), c.accepted()));
    c.send(100 << 10);
    gate.expire(client_gate::clock::now());
    gate.logged_in("ipv4:192.0.2.1:1");  // its login came in time
    gate.expire(client_gate::clock::now());
    EXPECT_FALSE(c.shut_down());
}

}  // namespace
}  // namespace burrow
