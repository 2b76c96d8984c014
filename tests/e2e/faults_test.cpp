// Faults with the real binaries: a process killed in the middle of a large
// transfer. The user sees the connection reset, never corrupt data and never
// a clean end of a transfer that did not complete, and the service is back
// once the process is.
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace burrow::e2e {
namespace {

// What a user read, and how its connection ended.
struct download {
    std::string got;
    bool clean_eof = false;  // the peer closed in order (the transfer looked complete)
    int error = 0;           // errno of the read that failed, if one did
};

// Reads from `fd` until the end; `midway` runs once `at` bytes have arrived.
download read_all(int fd, std::size_t at, const std::function<void()>& midway) {
    download d;
    timeval tv{30, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string buf(1 << 16, '\0');
    bool fired = false;
    for (;;) {
        const auto n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n == 0) {
            d.clean_eof = true;
            break;
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            d.error = errno;
            break;
        }
        d.got.append(buf.data(), static_cast<std::size_t>(n));
        if (!fired && d.got.size() >= at) {
            fired = true;
            midway();
        }
    }
    return d;
}

// A service that sends `body` to each connection, then half-closes.
std::function<void(int)> sender(const std::string& body) {
    return [&body](int fd) {
        send_all(fd, body.data(), body.size());
        ::shutdown(fd, SHUT_WR);
        char b;
        while (::recv(fd, &b, 1, 0) > 0) {
        }
    };
}

// kill -9 of the home client while a user downloads 200 MiB through it.
TEST(faults, client_killed_mid_transfer_resets_the_user_and_comes_back) {
    const auto body = random_bytes(200u << 20, 7);
    tcp_service service(sender(body));
    burrow_lab lab;
    const auto remote = free_port();
    const auto config = lab.client_config({{"data", service.port(), remote}});
    auto client = lab.start_client(config);
    ASSERT_EQ(burrow_lab::proxy_port(*client, "data"), remote) << client->log();

    const int user = connect_tcp(remote);
    ASSERT_GE(user, 0);
    fd_deadline guard(user, 60s);
    std::unique_ptr<process> again;
    const auto d = read_all(user, 20u << 20, [&] {
        client->kill(SIGKILL);
        client->wait_exit();
        // A new process cannot resume the old one's sessions: the server
        // resets them as it hands the proxy over.
        again = lab.start_client(config);
    });
    ::close(user);
    EXPECT_FALSE(d.clean_eof) << "an interrupted transfer must not look complete";
    EXPECT_EQ(d.error, ECONNRESET) << std::strerror(d.error);
    EXPECT_LT(d.got.size(), body.size());
    EXPECT_GE(d.got.size(), 20u << 20);
    EXPECT_TRUE(d.got.size() <= body.size() &&
                std::memcmp(d.got.data(), body.data(), d.got.size()) == 0)
        << "what arrived is not a prefix of what was sent";

    // The proxy is back on its port, served by the new process.
    ASSERT_TRUE(again);
    ASSERT_EQ(burrow_lab::proxy_port(*again, "data"), remote) << again->log();
    const int next = connect_tcp(remote);
    ASSERT_GE(next, 0);
    fd_deadline guard2(next, 60s);
    const auto whole = read_all(next, body.size() + 1, [] {});
    ::close(next);
    EXPECT_TRUE(whole.clean_eof);
    EXPECT_EQ(whole.got.size(), body.size());
    EXPECT_EQ(sha256_hex(whole.got), sha256_hex(body));
}

// kill -9 of the server during a transfer: the user sees a reset, and the
// client is back within 5 s of the server listening again.
TEST(faults, server_killed_mid_transfer_resets_the_user_and_clients_return) {
    const auto body = random_bytes(200u << 20, 8);
    tcp_service service(sender(body));
    burrow_lab lab;
    const auto remote = free_port();
    auto client = lab.start_client(lab.client_config({{"data", service.port(), remote}}));
    ASSERT_EQ(burrow_lab::proxy_port(*client, "data"), remote) << client->log();

    const int user = connect_tcp(remote);
    ASSERT_GE(user, 0);
    fd_deadline guard(user, 60s);
    const auto d = read_all(user, 20u << 20, [&] { lab.kill_server(SIGKILL); });
    ::close(user);
    EXPECT_FALSE(d.clean_eof);
    EXPECT_EQ(d.error, ECONNRESET) << std::strerror(d.error);
    EXPECT_TRUE(d.got.size() < body.size() &&
                std::memcmp(d.got.data(), body.data(), d.got.size()) == 0);

    lab.start_server(lab.server_port());
    const auto listening = std::chrono::steady_clock::now();
    ASSERT_EQ(burrow_lab::proxy_port(*client, "data", 2, 15s), remote) << client->log();
    EXPECT_LT(std::chrono::steady_clock::now() - listening, 5s);
    EXPECT_TRUE(wait_listening(remote));
}

// SIGTERM: the server stops accepting, lets an open connection finish, and
// exits 0 once it has (tests/e2e: shutdown_timeout, default 10 s).
TEST(shutdown, the_server_lets_open_connections_finish_then_exits_0) {
    tcp_service service(echo_handler);
    burrow_lab lab;
    const auto remote = free_port();
    auto client = lab.start_client(lab.client_config({{"echo", service.port(), remote}}));
    ASSERT_EQ(burrow_lab::proxy_port(*client, "echo"), remote) << client->log();
    const int user = connect_tcp(remote);
    ASSERT_GE(user, 0);
    fd_deadline guard(user, 30s);
    ASSERT_TRUE(send_all(user, "one", 3));
    char got[3];
    ASSERT_EQ(::recv(user, got, 3, MSG_WAITALL), 3);

    lab.server().kill(SIGTERM);
    ASSERT_TRUE(lab.server().wait_log(
        R"(stopping: listeners closed; 1 connection\(s\) of tcp proxies and visits open, waiting up to 10 s)",
        5s))
        << lab.server().log();
    // Nobody new gets in; the open connection goes on.
    bool closed = false;
    for (int i = 0; i < 40 && !closed; ++i) {
        const int fd = connect_tcp(remote);
        closed = fd < 0;
        if (fd >= 0) ::close(fd);
        if (!closed) std::this_thread::sleep_for(50ms);  // the listener closes on its own strand
    }
    EXPECT_TRUE(closed);
    ASSERT_TRUE(send_all(user, "two", 3));
    ASSERT_EQ(::recv(user, got, 3, MSG_WAITALL), 3);
    EXPECT_EQ(std::string(got, 3), "two");
    ::close(user);
    EXPECT_TRUE(lab.server().wait_log(R"(stopping: every connection finished, after \d+ ms)", 5s))
        << lab.server().log();
    EXPECT_EQ(lab.server().wait_exit(5s), 0);
    EXPECT_TRUE(client->wait_log(R"(disconnected from 127\.0\.0\.1:\d+: the server is shutting )", 5s))
        << client->log();
}

// One that does not finish within shutdown_timeout is reset, and the
// server still exits 0.
TEST(shutdown, a_connection_that_stays_is_ended_after_shutdown_timeout) {
    tcp_service service(echo_handler);
    burrow_lab lab(false, "shutdown_timeout = 1");
    const auto remote = free_port();
    auto client = lab.start_client(lab.client_config({{"echo", service.port(), remote}}));
    ASSERT_EQ(burrow_lab::proxy_port(*client, "echo"), remote) << client->log();
    const int user = connect_tcp(remote);
    ASSERT_GE(user, 0);
    fd_deadline guard(user, 30s);
    ASSERT_TRUE(echo_works(remote));  // the proxy serves (on another connection)

    const auto stopping = std::chrono::steady_clock::now();
    lab.server().kill(SIGTERM);
    EXPECT_TRUE(lab.server().wait_log(R"(stopping: 1 connection\(s\) still open after 1 s: ending them)",
                                      5s))
        << lab.server().log();
    EXPECT_EQ(lab.server().wait_exit(10s), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - stopping, 5s);
    const auto d = read_all(user, 1, [] {});
    ::close(user);
    EXPECT_FALSE(d.clean_eof);
}

}  // namespace
}  // namespace burrow::e2e
