// Resumption end to end: the home client's link to the server runs through a
// TCP relay the test controls (socat), which is killed and started again
// while users are connected. Open sessions stall and then complete intact;
// a cut longer than resume_timeout resets them and frees the ports; a
// re-attach with a wrong session secret gets nothing.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <regex>
#include <string>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "burrow.grpc.pb.h"
#include "common/auth.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/e2e/intruder.hpp"
#include "tests/e2e/http_peers.hpp"
#include "tests/e2e/link_relay.hpp"

namespace burrow::e2e {
namespace {

// A home service: sends `down` paced, reads what the user sends until EOF,
// and keeps its hash.
struct two_way_service {
    explicit two_way_service(std::string down_bytes)
        : down(std::move(down_bytes)), service([this](int fd) {
              std::thread writer([this, fd] {
                  paced_send(fd, down, 20ms);
                  ::shutdown(fd, SHUT_WR);
              });
              const auto got = recv_all(fd, 90s);
              up_sha = sha256_hex(got);
              up_size = got.size();
              writer.join();
          }) {}
    std::string down;
    std::atomic<std::size_t> up_size{0};
    std::string up_sha;
    tcp_service service;
};

TEST(resume, a_tcp_session_survives_a_cut_of_the_home_link) {
    burrow_lab lab;
    relay link(lab.dir(), lab.server_port());
    link.up();
    const auto down = random_bytes(50u << 20, 11);
    const auto up = random_bytes(20u << 20, 12);
    two_way_service home(down);
    auto client = lab.start_client(via(lab.client_config({{"data", home.service.port()}}), link.port()));
    const auto port = burrow_lab::proxy_port(*client, "data");
    ASSERT_NE(port, 0) << client->log();

    const int user = connect_tcp(port);
    ASSERT_GE(user, 0);
    fd_deadline guard(user, 120s);
    std::thread uploader([&] {
        paced_send(user, up, 50ms);
        ::shutdown(user, SHUT_WR);
    });
    std::string got;
    std::thread downloader([&] { got = recv_all(user, 120s); });

    // Once bytes flow, the link is cut for 5 s.
    ASSERT_TRUE(client->wait_log("connected to local", 15s)) << client->log();
    std::this_thread::sleep_for(1500ms);
    link.cut();
    ASSERT_TRUE(lab.server().wait_log("client .* away", 10s)) << lab.server().log();
    std::this_thread::sleep_for(5s);
    link.up();
    ASSERT_TRUE(lab.server().wait_log("client .* back after", 30s)) << lab.server().log();

    uploader.join();
    downloader.join();
    ::close(user);
    EXPECT_EQ(got.size(), down.size());
    EXPECT_EQ(sha256_hex(got), sha256_hex(down));
    ASSERT_TRUE(within([&] { return home.up_size.load() == up.size(); }, 30s))
        << home.up_size.load();
    EXPECT_EQ(home.up_sha, sha256_hex(up));
    EXPECT_TRUE(client->wait_log("resumed after \\d+ ms", 1s)) << client->log();
    EXPECT_TRUE(lab.server().wait_log("resumed after \\d+ ms", 1s)) << lab.server().log();
}

// A user reading through the http vhost while the home link is cut: the
// response stalls and then completes, byte for byte.
TEST(resume, an_http_download_survives_a_cut_of_the_home_link) {
    vhost_lab v;
    relay link(v.lab.dir(), v.lab.server_port());
    link.up();
    const auto body = random_bytes(30u << 20, 21);
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                             "\r\nContent-Type: application/octet-stream\r\n\r\n";
    std::atomic<bool> sending{false};
    tcp_service web([&](int fd) {
        if (read_head(fd).empty()) return;
        sending = true;
        send_all(fd, head.data(), head.size());
        paced_send(fd, body, 20ms);
    });
    auto client = v.lab.start_client(
        via(v.lab.client_config({}) + proxy("dl", web.port(), domains("\"dl.test\"")),
            link.port()));
    ASSERT_TRUE(burrow_lab::proxy_event(*client, "dl")) << client->log();

    const int user = connect_tcp(v.http_port);
    ASSERT_GE(user, 0);
    const auto request = get_closing("/big", "dl.test");
    ASSERT_TRUE(send_all(user, request.data(), request.size()));
    exchange_result got;
    std::thread reader([&] { got = read_to_close(user, 90s); });
    // The relay is started from this thread: a child dies with the thread
    // that forked it (PR_SET_PDEATHSIG).
    EXPECT_TRUE(within([&] { return sending.load(); }, 15s));
    std::this_thread::sleep_for(1s);
    link.cut();
    std::this_thread::sleep_for(5s);
    link.up();
    reader.join();
    ::close(user);
    EXPECT_EQ(got.reply.status, 200) << got;
    EXPECT_EQ(got.reply.body.size(), body.size());
    EXPECT_EQ(sha256_hex(got.reply.body), sha256_hex(body));
    EXPECT_TRUE(v.lab.server().wait_log("resumed after \\d+ ms", 1s)) << v.lab.server().log();
}

// Past resume_timeout the run is given up: its open sessions are reset (not
// closed: a lost transfer must not look complete), its port is freed, and
// once the client is back it registers anew and serves again.
TEST(resume, a_cut_longer_than_resume_timeout_resets_sessions_and_frees_the_port) {
    burrow_lab lab(false, "resume_timeout = 2");
    relay link(lab.dir(), lab.server_port());
    link.up();
    tcp_service service(echo_handler);
    const auto remote = free_port();
    auto client = lab.start_client(
        via(lab.client_config({{"echo", service.port(), remote}}), link.port()));
    ASSERT_EQ(burrow_lab::proxy_port(*client, "echo"), remote) << client->log();
    const int user = connect_tcp(remote);
    ASSERT_GE(user, 0);
    fd_deadline guard(user, 60s);
    ASSERT_EQ(echo_once(user, "abc"), "abc");

    link.cut();
    ASSERT_TRUE(lab.server().wait_log("did not come back within 2 s", 15s)) << lab.server().log();
    errno = 0;
    char b;
    EXPECT_EQ(::recv(user, &b, 1, 0), -1);
    EXPECT_EQ(errno, ECONNRESET);
    ::close(user);
    EXPECT_EQ(connect_tcp(remote), -1);  // the port is free

    link.up();
    ASSERT_EQ(burrow_lab::proxy_port(*client, "echo", 2, 30s), remote) << client->log();
    EXPECT_TRUE(echo_works(remote));
}

// A client that was killed and started again (a new process: it cannot
// resume) gets its names and ports back at once, not after resume_timeout.
TEST(resume, a_restarted_client_takes_its_ports_back_at_once) {
    burrow_lab lab;
    tcp_service service(echo_handler);
    const auto remote = free_port();
    const auto config = lab.client_config({{"echo", service.port(), remote}});
    auto first = lab.start_client(config);
    ASSERT_EQ(burrow_lab::proxy_port(*first, "echo"), remote) << first->log();
    first->kill(SIGKILL);
    first->wait_exit();
    ASSERT_TRUE(lab.server().wait_log("client .* away", 10s)) << lab.server().log();

    auto second = lab.start_client(config);
    ASSERT_EQ(burrow_lab::proxy_port(*second, "echo", 1, 10s), remote) << second->log()
                                                                        << lab.server().log();
    EXPECT_TRUE(lab.server().wait_log("client logout: .*: replaced by a new login", 1s));
    EXPECT_TRUE(echo_works(remote));
}

// A client that stops says so: its run ends at once, the port is free.
TEST(resume, a_client_that_stops_logs_out_and_frees_its_port_at_once) {
    burrow_lab lab;
    tcp_service service(echo_handler);
    const auto remote = free_port();
    auto client = lab.start_client(lab.client_config({{"echo", service.port(), remote}}));
    ASSERT_EQ(burrow_lab::proxy_port(*client, "echo"), remote) << client->log();
    client->kill(SIGTERM);
    EXPECT_EQ(client->wait_exit(), 0);
    ASSERT_TRUE(lab.server().wait_log(R"(client logout: .*: logged out \(client shutting down\))",
                                      5s))
        << lab.server().log();
    EXPECT_EQ(connect_tcp(remote), -1);
}

// A logged-in intruder (it holds the token) names a session of another
// client with a made-up secret: refused, logged, and the session goes on.
TEST(resume, a_reattach_with_a_wrong_session_secret_is_refused) {
    burrow_lab lab;
    tcp_service service(echo_handler);
    auto [client, port] = lab.expose("echo", service.port());
    ASSERT_NE(port, 0) << client->log();
    const int user = connect_tcp(port);
    ASSERT_GE(user, 0);
    fd_deadline guard(user, 60s);
    ASSERT_EQ(echo_once(user, "one"), "one");
    const auto id = lab.server().wait_log(R"(\[echo/(\d+)\] open from)");
    ASSERT_TRUE(id);

    e2e::intruder in(lab.server_port(), "intruder");
    ASSERT_TRUE(in.ok()) << in.result().error();

    for (const std::string secret : {"0123456789abcdef", ""}) {
        grpc::ClientContext work_ctx;
        auto work = in.stub().Work(&work_ctx);
        v1::Frame resume;
        resume.mutable_resume()->set_run_id(in.result().run_id());
        resume.mutable_resume()->set_session_id(std::stoull(*id));
        resume.mutable_resume()->set_session_secret(secret);
        ASSERT_TRUE(work->Write(resume));
        v1::Frame reply;
        ASSERT_TRUE(work->Read(&reply));
        EXPECT_FALSE(reply.has_resumed());
        EXPECT_EQ(reply.error(), "resume refused: no such session");
        work_ctx.TryCancel();
    }
    EXPECT_TRUE(lab.server().wait_log(
        "re-attach of session " + *id + " from client intruder at 127\\.0\\.0\\.1:\\d+ refused"))
        << lab.server().log();
    in.leave();

    // The session itself is untouched.
    EXPECT_EQ(echo_once(user, "two"), "two");
    ::close(user);
}

}  // namespace
}  // namespace burrow::e2e
