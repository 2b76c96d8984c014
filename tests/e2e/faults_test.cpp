// Faults with the real binaries: a process killed in the middle of a large
// transfer. The user sees the connection reset, never corrupt data and never
// a clean end of a transfer that did not complete, and the service is back
// once the process is.
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <utility>

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

// A connection to `port` is refused within 2 s (the listener closes on its own strand).
bool comes_to_refuse(std::uint16_t port) {
    for (int i = 0; i < 40; ++i) {
        const int fd = connect_tcp(port);
        if (fd < 0) return true;
        ::close(fd);
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

// An echo service behind a tcp proxy, and a user connection open through it.
struct open_user {
    explicit open_user(const std::string& server_extra = "") : lab(false, server_extra) {}

    // Starts the client and opens the user's connection; false on failure.
    bool open() {
        client = lab.start_client(lab.client_config({{"echo", service.port(), remote}}));
        if (burrow_lab::proxy_port(*client, "echo") != remote) return false;
        user = connect_tcp(remote);
        return user >= 0;
    }
    // One round trip on the user's connection.
    bool echoes(const std::string& text) {
        std::string got(text.size(), '\0');
        return send_all(user, text.data(), text.size()) &&
               ::recv(user, got.data(), got.size(), MSG_WAITALL) == static_cast<ssize_t>(got.size()) &&
               got == text;
    }
    ~open_user() {
        if (user >= 0) ::close(user);
    }

    tcp_service service{echo_handler};
    burrow_lab lab;
    const std::uint16_t remote = free_port();
    std::unique_ptr<process> client;
    int user = -1;
};

// SIGTERM: the server stops accepting, lets an open connection finish, and
// exits 0 once it has (tests/e2e: shutdown_timeout, default 10 s).
TEST(shutdown, the_server_lets_open_connections_finish_then_exits_0) {
    open_user u;
    ASSERT_TRUE(u.open()) << (u.client ? u.client->log() : "");
    auto& lab = u.lab;
    fd_deadline guard(u.user, 30s);
    ASSERT_TRUE(u.echoes("one"));

    lab.server().kill(SIGTERM);
    ASSERT_TRUE(lab.server().wait_log(
        R"(stopping: nothing new accepted; 1 connection\(s\) of tcp proxies and visits open, waiting up to 10 s)",
        5s))
        << lab.server().log();
    // Nobody new gets in; the open connection goes on.
    EXPECT_TRUE(comes_to_refuse(u.remote));
    EXPECT_TRUE(u.echoes("two"));
    ::close(std::exchange(u.user, -1));
    EXPECT_TRUE(lab.server().wait_log(R"(stopping: every connection finished, after \d+ ms)", 5s))
        << lab.server().log();
    EXPECT_EQ(lab.server().wait_exit(5s), 0);
    EXPECT_TRUE(u.client->wait_log(R"(disconnected from 127\.0\.0\.1:\d+: the server is shutting )", 5s))
        << u.client->log();
}

// One that does not finish within shutdown_timeout is reset, and the
// server still exits 0.
TEST(shutdown, a_connection_that_stays_is_ended_after_shutdown_timeout) {
    open_user u("shutdown_timeout = 1");
    ASSERT_TRUE(u.open()) << (u.client ? u.client->log() : "");
    auto& lab = u.lab;
    fd_deadline guard(u.user, 30s);
    ASSERT_TRUE(echo_works(u.remote));  // the proxy serves (on another connection)

    const auto stopping = std::chrono::steady_clock::now();
    lab.server().kill(SIGTERM);
    EXPECT_TRUE(lab.server().wait_log(R"(stopping: 1 connection\(s\) of tcp proxies and visits still open after 1 s: ending them)",
                                      5s))
        << lab.server().log();
    EXPECT_EQ(lab.server().wait_exit(10s), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - stopping, 5s);
    const auto d = read_all(u.user, 1, [] {});
    EXPECT_FALSE(d.clean_eof);
}

// SIGTERM to the home client: the server closes its proxies at its request
// (nobody new gets in), an open connection finishes, then the client logs
// out and exits 0.
TEST(shutdown, the_client_lets_open_connections_finish_then_logs_out) {
    open_user u;
    ASSERT_TRUE(u.open()) << (u.client ? u.client->log() : "");
    auto& lab = u.lab;
    auto& client = u.client;
    fd_deadline guard(u.user, 30s);
    ASSERT_TRUE(u.echoes("one"));

    client->kill(SIGTERM);
    ASSERT_TRUE(client->wait_log(
        R"(stopping: nothing new accepted; 1 connection\(s\) open, waiting up to 10 s)", 5s))
        << client->log();
    EXPECT_TRUE(lab.server().wait_log(R"(\[echo\] proxy down: closed by client)", 5s))
        << lab.server().log();
    EXPECT_TRUE(comes_to_refuse(u.remote));
    EXPECT_TRUE(u.echoes("two"));
    ::close(std::exchange(u.user, -1));
    EXPECT_TRUE(client->wait_log(R"(stopping: every connection finished, after \d+ ms)", 5s))
        << client->log();
    EXPECT_EQ(client->wait_exit(5s), 0);
    EXPECT_TRUE(lab.server().wait_log(R"(logged out \(client shutting down\))", 5s))
        << lab.server().log();
}

// A first start whose data_dir is full (a tmpfs of 8 KiB, filled, in a
// mount namespace of its own): the server says what it could not write and
// why, exits 1, and leaves nothing half-written: once there is room, the
// next start generates its TLS pair and listens.
TEST(faults, a_full_data_dir_at_first_start_is_a_clear_error_and_poisons_nothing) {
    if (geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
    temp_dir dir;
    const auto data = dir.file("data");
    std::filesystem::create_directories(data);
    write_text(dir.file("server.toml"), "bind_addr = \"127.0.0.1\"\nbind_port = 0\n"
                                        "data_dir = \"data\"\n[auth]\ntoken = \"" +
                                            std::string(burrow_lab::token) + "\"\n");
    const auto server = bin("burrow-server") + " -c " + dir.file("server.toml");
    const std::string script =
        "set -u\n"
        "mount -t tmpfs -o size=8k tmpfs " + data + " || exit 90\n"
        "dd if=/dev/zero of=" + data + "/fill bs=1k count=64 2>/dev/null\n" +
        server + "\n"
        "echo \"first start exit $?\"\n"
        "ls -a " + data + " | tr '\\n' ' '; echo\n"
        "rm " + data + "/fill\n"
        "exec " + server + "\n";
    process p({"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script},
              dir.file("server.log"));
    ASSERT_TRUE(p.wait_log(R"(listening for clients on 127\.0\.0\.1:\d+)", 20s)) << p.log();
    const auto log = p.log();
    EXPECT_NE(log.find("burrow-server: cannot write " + data + "/server.key: No space left on device"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("first start exit 1"), std::string::npos) << log;
    EXPECT_NE(log.find(". .. fill \n"), std::string::npos) << "a file was left behind:\n" << log;
    EXPECT_NE(log.find("generated a self-signed"), std::string::npos) << log;
    p.kill(SIGTERM);
    EXPECT_EQ(p.wait_exit(10s), 0);
}

}  // namespace
}  // namespace burrow::e2e
