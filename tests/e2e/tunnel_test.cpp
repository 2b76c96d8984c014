// End to end: real burrow-server and burrow-client processes on 127.0.0.1,
// users and local services on real sockets.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include <future>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "link_relay.hpp"

namespace burrow::e2e {
namespace {

// Sends `data` and half-closes on one thread while reading to EOF on this one.
std::string exchange(int fd, const std::string& data) {
    std::thread writer([&] {
        send_all(fd, data.data(), data.size());
        shutdown(fd, SHUT_WR);
    });
    std::string got = recv_all(fd);
    writer.join();
    return got;
}

int threads_of(int pid) { return static_cast<int>(proc_status(pid, "Threads")); }

TEST(tunnel, moves_64_mib_each_way_intact) {
    constexpr std::size_t size = 64u << 20;
    const auto up = random_bytes(size, 1), down = random_bytes(size, 2);
    std::string service_got;
    std::promise<void> service_done;  // service_got is written on the service's thread
    tcp_service service([&](int fd) {
        service_got = exchange(fd, down);
        service_done.set_value();
    });

    burrow_lab lab;
    auto [client, port] = lab.expose("bulk", service.port());
    ASSERT_NE(port, 0) << client->log();

    int fd = connect_tcp(port);
    ASSERT_GE(fd, 0);
    const auto user_got = exchange(fd, up);
    close(fd);
    EXPECT_EQ(sha256_hex(user_got), sha256_hex(down));
    EXPECT_EQ(user_got.size(), size);
    // The service thread finishes with the connection; wait for its bytes.
    ASSERT_TRUE(lab.server().wait_log(R"(\[bulk/\d+\] closed: in 67108864 B, out 67108864 B)"));
    // The server may log the close before the service's thread has stored
    // what it read (it failed so once in a fresh-clone run).
    ASSERT_EQ(service_done.get_future().wait_for(30s), std::future_status::ready);
    EXPECT_EQ(sha256_hex(service_got), sha256_hex(up));
}

TEST(tunnel, tiny_messages_back_and_forth_arrive_intact) {
    // A conversation of small messages, each answered before the next (a
    // control channel such as iperf3's): frames this small travel inside
    // gRPC's slice objects themselves rather than in buffers of their own.
    tcp_service service(echo_handler);
    burrow_lab lab;
    auto [client, port] = lab.expose("chat", service.port());
    ASSERT_NE(port, 0) << client->log();
    int fd = connect_tcp(port);
    ASSERT_GE(fd, 0);
    fd_deadline guard(fd, 30s);
    for (int i = 0; i < 2000; ++i) {
        const auto message = random_bytes(1 + i % 40, static_cast<std::uint32_t>(1000 + i));
        ASSERT_TRUE(send_all(fd, message.data(), message.size()));
        std::string echoed(message.size(), '\0');
        std::size_t got = 0;
        while (got < echoed.size()) {
            const ssize_t k = ::recv(fd, echoed.data() + got, echoed.size() - got, 0);
            ASSERT_GT(k, 0) << "connection ended at message " << i;
            got += static_cast<std::size_t>(k);
        }
        ASSERT_EQ(echoed, message) << "message " << i << " (" << message.size() << " bytes)";
    }
    close(fd);
}

TEST(tunnel, serves_200_concurrent_echo_connections) {
    tcp_service service(echo_handler);
    burrow_lab lab;
    auto [client, port] = lab.expose("echo", service.port());
    ASSERT_NE(port, 0) << client->log();

    constexpr int n = 200;
    constexpr std::size_t size = 1u << 20;
    std::atomic<int> ok{0};
    std::vector<std::thread> users;
    for (int i = 0; i < n; ++i)
        users.emplace_back([&, i] {
            int fd = connect_tcp(port);
            if (fd < 0) return;
            const auto data = random_bytes(size, static_cast<std::uint32_t>(100 + i));
            if (exchange(fd, data) == data) ++ok;
            close(fd);
        });
    for (auto& t : users) t.join();
    EXPECT_EQ(ok.load(), n);
}

TEST(tunnel, keeps_half_close_end_to_end) {
    // The user sends a request and shuts its write side; the service sees EOF,
    // and only then answers: the answer must still reach the user.
    const auto answer = random_bytes(1u << 20, 3);
    std::string request_seen;
    tcp_service service([&](int fd) {
        request_seen = recv_all(fd);
        send_all(fd, answer.data(), answer.size());
    });
    burrow_lab lab;
    auto [client, port] = lab.expose("half", service.port());
    ASSERT_NE(port, 0);

    int fd = connect_tcp(port);
    ASSERT_GE(fd, 0);
    const std::string request = "GET / and then EOF";
    ASSERT_TRUE(send_all(fd, request.data(), request.size()));
    ASSERT_EQ(shutdown(fd, SHUT_WR), 0);
    const auto got = recv_all(fd, 20s);
    close(fd);
    EXPECT_EQ(got, answer);
    EXPECT_EQ(request_seen, request);
}

// An echo service behind a tcp proxy on a remote port chosen up front, so
// that a client started again asks for the same one.
struct echo_tunnel {
    explicit echo_tunnel(std::string server_extra = "") : lab(false, std::move(server_extra)) {}
    std::unique_ptr<process> start() { return lab.start_client(config); }

    tcp_service service{echo_handler};
    burrow_lab lab;
    const std::uint16_t remote = free_port();
    const std::string config = lab.client_config({{"echo", service.port(), remote}});
};

TEST(tunnel, client_killed_and_restarted_serves_again_on_the_same_port) {
    // Without resumption the server frees the port as soon as it notices; with
    // it, the new process takes the port over (resume_test.cpp).
    echo_tunnel t("resume_timeout = 0");
    auto client = t.start();
    ASSERT_EQ(burrow_lab::proxy_port(*client, "echo"), t.remote) << client->log();
    ASSERT_TRUE(echo_works(t.remote));

    client->kill(SIGKILL);
    client->wait_exit();
    // The server notices the dead client and frees its port.
    ASSERT_TRUE(t.lab.server().wait_log(R"(\[echo\] proxy down)"));
    EXPECT_EQ(connect_tcp(t.remote), -1);

    auto again = t.start();
    ASSERT_EQ(burrow_lab::proxy_port(*again, "echo"), t.remote) << again->log();
    EXPECT_TRUE(echo_works(t.remote, 1u << 20));
}

TEST(tunnel, a_silent_client_is_dropped_after_the_heartbeat_timeout) {
    // SIGSTOP keeps the client's TCP connection open but silent, like a home
    // router that lost power: only heartbeats can tell.
    // Without resumption (resume_timeout = 0) the run ends at once.
    echo_tunnel t("resume_timeout = 0");  // heartbeat_timeout = 6 s
    auto client = t.start();
    ASSERT_EQ(burrow_lab::proxy_port(*client, "echo"), t.remote);

    client->kill(SIGSTOP);
    ASSERT_TRUE(t.lab.server().wait_log(R"(client logout: .*: no heartbeat for 6 s)", 20s))
        << t.lab.server().log();
    EXPECT_TRUE(t.lab.server().wait_log(R"(\[echo\] proxy down)"));
    EXPECT_EQ(connect_tcp(t.remote), -1);

    // Woken up, the client finds its session gone, reconnects and serves again.
    client->kill(SIGCONT);
    ASSERT_EQ(burrow_lab::proxy_port(*client, "echo", 2, 30s), t.remote) << client->log();
    EXPECT_TRUE(echo_works(t.remote));
}

TEST(tunnel, a_silent_client_is_away_and_resumes_its_run_with_the_same_port) {
    // With resumption (resume_timeout 60 s by default) the run waits for its
    // client: the port stays open, a user connecting meanwhile waits (up to
    // work_timeout) and is served once the client is back.
    echo_tunnel t;  // heartbeat_timeout = 6 s
    auto client = t.start();
    ASSERT_EQ(burrow_lab::proxy_port(*client, "echo"), t.remote);

    client->kill(SIGSTOP);
    ASSERT_TRUE(t.lab.server().wait_log(R"(client .* away: no heartbeat for 6 s)", 20s))
        << t.lab.server().log();
    const int user = connect_tcp(t.remote);
    ASSERT_GE(user, 0) << "the port was freed";
    fd_deadline guard(user, 30s);
    ASSERT_TRUE(send_all(user, "ping", 4));
    ::shutdown(user, SHUT_WR);

    client->kill(SIGCONT);
    ASSERT_TRUE(t.lab.server().wait_log(R"(client .* back after \d+ ms: run resumed)", 20s))
        << t.lab.server().log();
    EXPECT_EQ(recv_all(user, 20s), "ping");
    ::close(user);
    EXPECT_TRUE(client->wait_log(R"(run resumed: proxies kept)", 5s)) << client->log();
    EXPECT_EQ(client->count_log(R"(\[echo\] proxy up)"), 1);  // registered once
    EXPECT_EQ(t.lab.server().count_log(R"(\[echo\] proxy down)"), 0);
    EXPECT_TRUE(echo_works(t.remote));
}

// Sends on `fd` without blocking until its path has taken nothing for
// `still`: every buffer between here and a stopped peer is full.
std::size_t fill(int fd, milliseconds still) {
    const int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    const std::string chunk(256u << 10, 'u');
    std::size_t sent = 0;
    auto last = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - last < still) {
        const auto n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
        if (n > 0) {
            sent += std::size_t(n);
            last = std::chrono::steady_clock::now();
        } else {
            std::this_thread::sleep_for(20ms);
        }
    }
    ::fcntl(fd, F_SETFL, flags);
    return sent;
}

TEST(tunnel, a_silent_client_behind_a_full_connection_is_away_not_gone) {
    // The client stops while a user uploads: its connection fills, so the
    // server's next message on the Control stream (the ask for a Work stream
    // that a new user's connection causes) cannot be written. The heartbeat
    // timeout then cancels the stream, and the cancel's own reports (OnCancel,
    // the read ending) came after the run was already away: once, in a CI
    // run, one of them ended the run instead of keeping it for its client.
    echo_tunnel t;  // heartbeat_timeout = 6 s
    auto client = t.start();
    ASSERT_EQ(burrow_lab::proxy_port(*client, "echo"), t.remote);
    const int upload = connect_tcp(t.remote);
    ASSERT_GE(upload, 0);
    fd_deadline upload_guard(upload, 60s);
    ASSERT_EQ(echo_once(upload, "ping"), "ping");

    client->kill(SIGSTOP);
    const auto stuck = fill(upload, 1s);
    std::printf("[ figure   ] %zu KiB in flight towards the stopped client\n", stuck >> 10);
    const int user = connect_tcp(t.remote);  // takes an idle stream: the server asks for one
    ASSERT_GE(user, 0);
    fd_deadline user_guard(user, 60s);
    ASSERT_TRUE(t.lab.server().wait_log(R"(client .* away: no heartbeat for 6 s)", 20s))
        << t.lab.server().log();
    EXPECT_FALSE(t.lab.server().wait_log("client logout", 2s)) << t.lab.server().log();

    client->kill(SIGCONT);
    ASSERT_TRUE(t.lab.server().wait_log(R"(client .* back after \d+ ms: run resumed)", 20s))
        << t.lab.server().log();
    EXPECT_EQ(echo_once(user, "pong"), "pong");
    ::close(user);
    ::close(upload);
    EXPECT_EQ(t.lab.server().count_log(R"(\[echo\] proxy down)"), 0);
    EXPECT_TRUE(echo_works(t.remote));
}

TEST(tunnel, client_reconnects_after_the_server_restarts) {
    tcp_service service(echo_handler);
    burrow_lab lab;
    auto client = lab.start_client(lab.client_config({{"echo", service.port()}}));
    const auto first = burrow_lab::proxy_port(*client, "echo");
    ASSERT_NE(first, 0);
    ASSERT_TRUE(echo_works(first));

    lab.kill_server(SIGKILL);
    ASSERT_TRUE(client->wait_log("disconnected from 127.0.0.1"));
    lab.start_server(lab.server_port());

    const auto second = burrow_lab::proxy_port(*client, "echo", 2, 30s);
    ASSERT_NE(second, 0) << client->log();
    EXPECT_TRUE(echo_works(second, 1u << 20));
    EXPECT_EQ(client->count_log("logged in to"), 2);
}

// However long the server was gone, its clients are back within 5 s of it
// listening again: the backoff stops growing at max_backoff (default 4 s),
// and each attempt is a real one (not one that gRPC's own backoff fails).
TEST(tunnel, after_a_long_outage_the_client_is_back_within_5_s_of_the_server) {
    tcp_service service(echo_handler);
    // The server keeps a lost run for 1 s: the client's twice-a-second
    // attempts to resume it end soon, and its backoff takes over.
    burrow_lab lab(false, "resume_timeout = 1");
    auto config = lab.client_config({{"echo", service.port()}});
    const std::string short_backoff = "max_backoff = 2\n";
    ASSERT_NE(config.find(short_backoff), std::string::npos);
    config.erase(config.find(short_backoff), short_backoff.size());  // the default
    auto client = lab.start_client(config);
    ASSERT_NE(burrow_lab::proxy_port(*client, "echo"), 0) << client->log();

    lab.kill_server(SIGKILL);
    // Down until the backoff has waited its cap twice (3 to 4 s; it grew 1,
    // 2, 4 s before; without a cap, the next wait would be 8 s, then 16 s).
    ASSERT_TRUE(client->wait_log(R"(retrying in [34]\.\d s)", 40s, 2)) << client->log();
    lab.start_server(lab.server_port());  // returns once it listens
    const auto listening = std::chrono::steady_clock::now();
    const auto second = burrow_lab::proxy_port(*client, "echo", 2, 15s);
    const auto back_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - listening)
                             .count();
    ASSERT_NE(second, 0) << client->log();
    std::printf("[ figure   ] server back after an outage of %d failed attempts: proxy up again %lld ms later\n",
                client->count_log("retrying in"), static_cast<long long>(back_ms));
    EXPECT_LT(back_ms, 5000) << client->log();
    EXPECT_TRUE(echo_works(second));
}

TEST(tunnel, wrong_token_gives_a_clear_line_and_no_proxy) {
    tcp_service service(echo_handler);
    burrow_lab lab;
    const std::string bad = "not-the-token-31337";
    auto client = lab.start_client(lab.client_config({{"echo", service.port()}}, "", bad));
    ASSERT_TRUE(client->wait_log("login failed: the server answered 'login rejected: bad token proof'"))
        << client->log();
    ASSERT_TRUE(lab.server().wait_log(R"(login rejected from 127\.0\.0\.1:\d+: bad token proof)"));
    // It keeps retrying with backoff, and never gets a proxy.
    ASSERT_TRUE(client->wait_log("login failed", 15s, 2));
    EXPECT_EQ(client->count_log("proxy up"), 0);
    EXPECT_EQ(lab.server().count_log("proxy up"), 0);
    // Secrets stay out of the logs.
    EXPECT_EQ(client->log().find(bad), std::string::npos);
    EXPECT_EQ(lab.server().log().find(burrow_lab::token), std::string::npos);
}

TEST(tunnel, local_service_down_closes_the_user_and_keeps_the_tunnel) {
    const auto local = free_port();  // nothing listens here yet
    burrow_lab lab;
    auto [client, port] = lab.expose("svc", local);
    ASSERT_NE(port, 0);

    int fd = connect_tcp(port);
    ASSERT_GE(fd, 0);
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(recv_all(fd, 5s), "");  // closed, not hanging
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
    close(fd);
    EXPECT_TRUE(client->wait_log(R"(\[svc/\d+\] local service 127\.0\.0\.1:\d+ unreachable: Connection refused)"));
    EXPECT_TRUE(lab.server().wait_log(R"(\[svc/\d+\] aborted: peer: local service unreachable)"));

    // The tunnel is still up: once the service starts, the same proxy serves it.
    tcp_service service(echo_handler, local);
    EXPECT_TRUE(echo_works(port));
    EXPECT_EQ(client->count_log("logged in to"), 1);
}

TEST(tunnel, registration_errors_affect_only_that_proxy) {
    tcp_service service(echo_handler);
    const int busy_fd = listen_tcp(0);  // a port someone else holds
    const auto busy = local_port(busy_fd);
    burrow_lab lab(false, "allow_ports = [\"1024-65535\"]\n");
    auto client = lab.start_client(lab.client_config({{"good", service.port()},
                                                      {"busy", service.port(), busy},
                                                      {"privileged", service.port(), 80}}));
    const auto good = burrow_lab::proxy_port(*client, "good");
    ASSERT_NE(good, 0) << client->log();
    EXPECT_TRUE(client->wait_log(
        "\\[busy\\] proxy rejected: port " + std::to_string(busy) + " is already in use"));
    EXPECT_TRUE(client->wait_log(R"(\[privileged\] proxy rejected: port 80 is not allowed \(allow_ports: 1024-65535\))"));

    // A second client may not take a name the first one holds.
    auto other = lab.start_client(lab.client_config({{"good", service.port()}}));
    EXPECT_TRUE(other->wait_log(R"(\[good\] proxy rejected: proxy name already used by another client)"));
    EXPECT_TRUE(echo_works(good));
    close(busy_fd);
}

TEST(tunnel, tls_with_pinned_fingerprint) {
    tcp_service service(echo_handler);
    burrow_lab lab(true);
    ASSERT_FALSE(lab.fingerprint().empty());
    auto [client, port] = lab.expose("echo", service.port());
    ASSERT_NE(port, 0) << client->log();
    EXPECT_TRUE(echo_works(port, 8u << 20));

    // A client pinned to another fingerprint refuses the server.
    auto cfg = lab.client_config({{"echo2", service.port()}});
    const auto wrong = "sha256:" + std::string(64, 'a');
    cfg.replace(cfg.find(lab.fingerprint()), lab.fingerprint().size(), wrong);
    auto mitm = lab.start_client(cfg);
    EXPECT_TRUE(mitm->wait_log("refusing to connect")) << mitm->log();
    EXPECT_TRUE(mitm->wait_log("cannot connect to"));
    EXPECT_EQ(mitm->count_log("logged in"), 0);
}

TEST(tunnel, tls_with_a_ca_signed_certificate_and_server_name) {
    temp_dir pki;
    auto sh = [&](const std::string& cmd) {
        auto r = run({"/bin/sh", "-c", "cd " + pki.path() + " && " + cmd});
        ASSERT_EQ(r.code, 0) << cmd << "\n" << r.output;
    };
    const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    sh("openssl req -x509 " + ec + " -keyout ca.key -out ca.crt -days 2 -subj /CN=burrow-test-ca");
    sh("openssl req " + ec + " -keyout srv.key -out srv.csr -subj /CN=burrow.test");
    sh("printf 'subjectAltName=DNS:burrow.test' > ext && openssl x509 -req -in srv.csr -CA ca.crt "
       "-CAkey ca.key -CAcreateserial -out srv.crt -days 2 -extfile ext");

    tcp_service service(echo_handler);
    burrow_lab lab(true, "", "cert_file = \"" + pki.file("srv.crt") + "\"\nkey_file = \"" +
                                 pki.file("srv.key") + "\"\n");
    auto with_ca = [&](const std::string& name, const std::string& server_name) {
        auto cfg = lab.client_config({{name, service.port()}});
        const auto fp_line = "server_fingerprint = \"" + lab.fingerprint() + "\"";
        cfg.replace(cfg.find(fp_line), fp_line.size(),
                    "ca_file = \"" + pki.file("ca.crt") + "\"\nserver_name = \"" + server_name +
                        "\"");
        return cfg;
    };
    auto client = lab.start_client(with_ca("echo", "burrow.test"));
    const auto port = burrow_lab::proxy_port(*client, "echo");
    ASSERT_NE(port, 0) << client->log();
    EXPECT_TRUE(echo_works(port));

    // The certificate does not name other.test: no login.
    auto wrong = lab.start_client(with_ca("echo2", "other.test"));
    EXPECT_TRUE(wrong->wait_log("cannot connect to 127.0.0.1:\\d+: .*Peer name other.test is not "
                                "in peer certificate", 15s, 2)) << wrong->log();
    EXPECT_EQ(wrong->count_log("logged in"), 0);
}

TEST(tunnel, slow_reader_slows_its_sender_without_unbounded_buffering) {
    // The service accepts and does not read. The user writes until the path
    // is full: everything in between (kernel buffers, gRPC windows) must stay
    // bounded, and once the service reads, every byte arrives.
    std::atomic<bool> start_reading{false};
    std::size_t service_got = 0;
    tcp_service service([&](int fd) {
        while (!start_reading) std::this_thread::sleep_for(10ms);
        service_got = recv_all(fd, 30s).size();
    });
    burrow_lab lab;
    auto [client, port] = lab.expose("slow", service.port());
    ASSERT_NE(port, 0);

    int fd = connect_tcp(port);
    ASSERT_GE(fd, 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    const auto chunk = random_bytes(1u << 20, 9);
    std::size_t sent = 0;
    auto last_progress = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - last_progress < 2s && sent < (1u << 30)) {
        ssize_t k = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
        if (k > 0) {
            sent += static_cast<std::size_t>(k);
            last_progress = std::chrono::steady_clock::now();
        } else {
            std::this_thread::sleep_for(5ms);
        }
    }
    EXPECT_LT(sent, 96u << 20) << "the tunnel buffered " << sent << " bytes for a reader that "
                                  "never read";
    start_reading = true;
    fcntl(fd, F_SETFL, 0);
    shutdown(fd, SHUT_WR);
    ASSERT_TRUE(lab.server().wait_log(R"(\[slow/\d+\] closed)", 30s));
    close(fd);
    // The service saw exactly what was sent.
    for (int i = 0; i < 100 && service_got == 0; ++i) std::this_thread::sleep_for(50ms);
    EXPECT_EQ(service_got, sent);
}

TEST(tunnel, a_thousand_connections_use_a_fixed_number_of_threads) {
    rlimit lim{8192, 8192};
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lim), 0);
    // A service that accepts and holds connections without a thread each.
    const int listen_fd = listen_tcp(0);
    const auto local = local_port(listen_fd);
    burrow_lab lab;
    auto [client, port] = lab.expose("many", local);
    ASSERT_NE(port, 0);
    const int server_idle = threads_of(lab.server().pid());
    const int client_idle = threads_of(client->pid());

    std::vector<int> users, held;
    for (int i = 0; i < 1000; ++i) {
        int fd = connect_tcp(port);
        ASSERT_GE(fd, 0);
        ASSERT_TRUE(send_all(fd, "x", 1));
        users.push_back(fd);
    }
    fcntl(listen_fd, F_SETFL, O_NONBLOCK);
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (held.size() < 1000 && std::chrono::steady_clock::now() < deadline) {
        int fd = accept(listen_fd, nullptr, nullptr);
        if (fd >= 0)
            held.push_back(fd);
        else
            std::this_thread::sleep_for(5ms);
    }
    ASSERT_EQ(held.size(), 1000u);
    const int server_busy = threads_of(lab.server().pid());
    const int client_busy = threads_of(client->pid());
    RecordProperty("server_threads", server_busy);
    RecordProperty("client_threads", client_busy);
    EXPECT_LE(server_busy, server_idle + 4) << "idle " << server_idle;
    EXPECT_LE(client_busy, client_idle + 4) << "idle " << client_idle;
    EXPECT_LE(server_busy, 32);
    EXPECT_LE(client_busy, 32);
    for (int fd : users) close(fd);
    for (int fd : held) close(fd);
    close(listen_fd);
    // The server asked for one stream per stream the burst took, so the
    // client opened no surplus beyond its own replacements of what it
    // thought lost (its 1 s tick tops up to pool_count); the server closes
    // a surplus 5 s after a burst (before: 252 and more).
    const auto surplus =
        lab.server().wait_log(R"(closing (\d+) surplus idle work streams \(pool_count 4\))", 9s);
    if (surplus) {
        EXPECT_LE(std::stoi(*surplus), 16) << "surplus streams after a burst";
    }
    tcp_service echo(echo_handler, local);
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(echo_works(port));
}

}  // namespace
}  // namespace burrow::e2e
