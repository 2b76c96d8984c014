// Connection limits on the user side (server/conn_limits.hpp): one address
// cannot hold more than max_connections_per_source connections, one tcp
// proxy more than max_connections_per_proxy; the one over the limit is
// closed at once with a log line, and everybody else is served.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace burrow::e2e {
namespace {

// A connection to 127.0.0.1:port from `source` (another loopback address).
int connect_from(const char* source, std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    ::inet_pton(AF_INET, source, &from.sin_addr);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
        ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// One round trip through the echo service behind the proxy.
bool echoes(int fd) {
    if (!send_all(fd, "ping", 4)) return false;
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char got[4];
    return ::recv(fd, got, sizeof got, MSG_WAITALL) == 4 && std::string(got, 4) == "ping";
}

// The server closed it without serving it (EOF or reset, within 5 s).
bool refused(int fd) {
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    send_all(fd, "ping", 4);  // may fail already
    char got[4];
    const auto n = ::recv(fd, got, sizeof got, 0);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

struct fds {
    std::vector<int> v;
    ~fds() {
        for (int fd : v)
            if (fd >= 0) ::close(fd);
    }
};

TEST(limits, per_source_and_per_proxy_connections_are_capped_for_that_source_alone) {
    tcp_service service(echo_handler);
    burrow_lab lab(false, "max_connections_per_source = 5\nmax_connections_per_proxy = 8");
    auto client = lab.start_client(lab.client_config({{"echo", service.port()}}));
    const auto port = burrow_lab::proxy_port(*client, "echo");
    ASSERT_NE(port, 0) << client->log();

    fds open;
    for (int i = 0; i < 5; ++i) {
        open.v.push_back(connect_from("127.0.0.1", port));
        ASSERT_TRUE(echoes(open.v.back())) << i;
    }
    // The sixth from the same address is closed at once and logged.
    const int sixth = connect_from("127.0.0.1", port);
    ASSERT_GE(sixth, 0);
    EXPECT_TRUE(refused(sixth));
    ::close(sixth);
    EXPECT_TRUE(lab.server().wait_log(
        R"(connection to echo refused: 5 connections open from 127\.0\.0\.1 \(max_connections_per_source\))",
        5s))
        << lab.server().log();

    // Another address is served, up to the proxy's limit of 8 in all.
    for (int i = 0; i < 3; ++i) {
        open.v.push_back(connect_from("127.0.0.2", port));
        ASSERT_TRUE(echoes(open.v.back())) << i;
    }
    const int ninth = connect_from("127.0.0.3", port);
    ASSERT_GE(ninth, 0);
    EXPECT_TRUE(refused(ninth));
    ::close(ninth);
    EXPECT_TRUE(lab.server().wait_log(
        R"(connection to echo refused: 8 connections open on proxy echo \(max_connections_per_proxy\))", 5s))
        << lab.server().log();

    // A connection that ends gives its place back.
    ::close(open.v.front());
    open.v.front() = -1;
    bool served = false;
    for (int i = 0; i < 50 && !served; ++i) {
        const int again = connect_from("127.0.0.1", port);
        served = again >= 0 && echoes(again);
        if (again >= 0) {
            if (served)
                open.v.push_back(again);
            else
                ::close(again);
        }
        if (!served) std::this_thread::sleep_for(100ms);  // the close is on its way to the server
    }
    EXPECT_TRUE(served) << lab.server().log();
    for (int fd : open.v) {
        if (fd >= 0) {
            EXPECT_TRUE(echoes(fd));  // nobody else was disturbed
        }
    }
}

}  // namespace
}  // namespace burrow::e2e
