// Punch signalling between a visitor and its home client through a real
// server, on loopback (no NAT: the NAT lab in tests/natlab covers those).
#include <chrono>
#include <regex>
#include <string>
#include <thread>
#include <vector>
#include <atomic>

#include <gtest/gtest.h>

#include <grpcpp/grpcpp.h>

#include "burrow.grpc.pb.h"
#include "common/auth.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/e2e/intruder.hpp"
#include "tests/e2e/link_relay.hpp"
#include "tests/e2e/visit_peers.hpp"

namespace burrow::e2e {
namespace {

// The first direct path's state in a client's `status --json`, once it has
// settled ("up" or "failed"); "" when it did not within `limit`.
std::string settled_path(const std::string& config, milliseconds limit = 20s) {
    static const std::regex state(R"re("direct_paths":\[\{[^}]*"state":"(up|failed)")re");
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        const auto r = run({bin("burrow-client"), "status", "-c", config, "--json"});
        std::smatch m;
        if (std::regex_search(r.output, m, state)) return m[1].str();
        std::this_thread::sleep_for(100ms);
    }
    return {};
}

struct punch_setup {
    burrow_lab lab;
    tcp_service echo{echo_handler};
    std::uint16_t port = free_port();
    std::unique_ptr<process> home, laptop;
    std::string home_file, laptop_file;

    punch_setup(const std::string& home_p2p, const std::string& laptop_secret = visit_secret_key) {
        home = start_home(lab, secret_proxy("echo-secret", echo.port(), home_p2p), "echo-secret");
        home_file = lab.dir().file("home1.toml");
        laptop = start_laptop(lab, "laptop",
                              visitor("v", "echo-secret", port, laptop_secret) + "p2p = true\n", "v",
                              port);
        laptop_file = lab.dir().file("laptop2.toml");
    }
};

TEST(punch, a_visitor_and_its_home_client_punch_a_direct_path_and_both_list_it) {
    punch_setup s("p2p = true\n");
    // The connection that starts the attempt is carried by the relay at once.
    EXPECT_TRUE(echo_works(s.port, 1 << 20)) << s.laptop->log();
    EXPECT_EQ(settled_path(s.laptop_file), "up") << s.laptop->log() << s.home->log();
    EXPECT_EQ(settled_path(s.home_file), "up") << s.home->log();
    EXPECT_TRUE(s.laptop->wait_log(R"(\[v\] direct path up: \d+ -> 127\.0\.0\.1:\d+ \(punch \d+\), rtt)"))
        << s.laptop->log();
    EXPECT_TRUE(s.lab.server().wait_log(
        R"(punch \d+: laptop -> echo-secret \(home\): home candidates passed on \(\d+\); both sides probe now)"))
        << s.lab.server().log();
    const auto text = run({bin("burrow-client"), "status", "-c", s.laptop_file});
    EXPECT_NE(text.output.find("direct paths (1):"), std::string::npos) << text.output;
    EXPECT_NE(text.output.find("up: udp "), std::string::npos) << text.output;
    // More connections go on working, over the relay for now.
    EXPECT_TRUE(echo_works(s.port, 1 << 20));
}

TEST(punch, once_quic_is_up_new_connections_go_direct_and_keep_every_byte) {
    punch_setup s("p2p = true\n");
    EXPECT_TRUE(echo_works(s.port, 1 << 20)) << s.laptop->log();
    ASSERT_EQ(settled_path(s.laptop_file), "up") << s.laptop->log() << s.home->log();
    ASSERT_TRUE(s.laptop->wait_log(R"(\[v\] QUIC connection up \(visitor\))")) << s.laptop->log();
    ASSERT_TRUE(s.home->wait_log(R"(\[echo-secret/laptop\] QUIC connection up \(home\))"))
        << s.home->log();
    // 8 MiB each way through the QUIC stream, compared byte for byte.
    EXPECT_TRUE(echo_works(s.port, 8 << 20)) << s.laptop->log() << s.home->log();
    EXPECT_TRUE(s.laptop->wait_log(R"(\[v/2\] connected to echo-secret of client home \(\[echo-secret/p2p-1\] there\), direct \(p2p\))"))
        << s.laptop->log();
    EXPECT_TRUE(s.home->wait_log(R"(\[echo-secret/p2p-1\] connected to local 127\.0\.0\.1:\d+ for visitor laptop at 127\.0\.0\.1:\d+)"))
        << s.home->log();
    // Many at once, each on its own stream.
    std::vector<std::thread> users;
    std::atomic<int> good{0};
    for (int i = 0; i < 8; ++i)
        users.emplace_back([&] { good += echo_works(s.port, 1 << 20) ? 1 : 0; });
    for (auto& t : users) t.join();
    EXPECT_EQ(good.load(), 8) << s.laptop->log();
    EXPECT_EQ(s.laptop->count_log("over the relay"), 0) << s.laptop->log();
}

TEST(punch, a_secret_proxy_without_p2p_refuses_and_the_relay_carries_on) {
    punch_setup s("");
    EXPECT_TRUE(echo_works(s.port, 1 << 20)) << s.laptop->log();
    EXPECT_EQ(settled_path(s.laptop_file), "failed") << s.laptop->log();
    EXPECT_TRUE(s.laptop->wait_log(
        R"(\[v\] direct path failed: refused by the server: direct paths are off for proxy echo-secret)"))
        << s.laptop->log();
    EXPECT_TRUE(echo_works(s.port, 1 << 20));
    // The refusal holds the next attempt back (30 s): a new connection does not punch again.
    EXPECT_EQ(s.laptop->count_log("trying a direct path"), 1) << s.laptop->log();
}

TEST(punch, a_visitor_with_the_wrong_key_gets_no_direct_path) {
    punch_setup s("p2p = true\n", "not-the-home-secret");
    EXPECT_FALSE(echo_works(s.port, 1000)) << "the visit itself is refused";
    EXPECT_EQ(settled_path(s.laptop_file), "failed") << s.laptop->log();
    EXPECT_TRUE(s.laptop->wait_log(R"(\[v\] direct path failed: refused by the server: )"))
        << s.laptop->log();
    EXPECT_TRUE(s.lab.server().wait_log(R"(direct path to 'echo-secret' for client laptop refused)"))
        << s.lab.server().log();
    EXPECT_EQ(s.home->count_log("asks for a direct path"), 0) << s.home->log();
    // Neither the key nor its derivations appear in any log.
    for (const auto* log : {&s.lab.server(), s.home.get(), s.laptop.get()}) {
        EXPECT_EQ(log->log().find("not-the-home-secret"), std::string::npos);
        EXPECT_EQ(log->log().find(visit_secret_key), std::string::npos);
    }
}

// A client that knows the proxy's secret_key (its visit proof is good) but
// not a session's secret names the home's live session in a Visit that would
// continue it over the relay (resume_direct), by its relay id and by a direct
// id: refused each time, and the session goes on.
TEST(punch, a_visit_naming_another_session_with_a_made_up_secret_is_refused) {
    punch_setup s("p2p = true\n");
    const int user = connect_tcp(s.port);
    ASSERT_GE(user, 0);
    fd_deadline guard(user, 60s);
    ASSERT_EQ(echo_once(user, "one"), "one");
    const auto id = s.home->wait_log(R"(\[echo-secret/(\d+)\] connected to local)");
    ASSERT_TRUE(id) << s.home->log();

    e2e::intruder in(s.lab.server_port(), "intruder");
    ASSERT_TRUE(in.ok()) << in.result().error();

    for (const std::uint64_t target : {std::uint64_t{std::stoull(*id)}, (std::uint64_t{1} << 63) | 1}) {
        grpc::ClientContext visit_ctx;
        auto visit = in.stub().Visit(&visit_ctx);
        v1::Frame head;
        auto* hello = head.mutable_visit();
        hello->set_run_id(in.result().run_id());
        hello->set_server_name("echo-secret");
        hello->set_timestamp(auth::unix_now());
        hello->set_nonce(auth::random_bytes(auth::nonce_size));
        hello->set_proof(auth::make_visit_proof(auth::visit_key(visit_secret_key), "intruder",
                                                "echo-secret", hello->timestamp(), hello->nonce()));
        auto* r = hello->mutable_resume_direct();
        r->set_session_id(target);
        r->set_session_secret("0123456789abcdef");
        ASSERT_TRUE(visit->Write(head));
        v1::Frame reply;
        ASSERT_TRUE(visit->Read(&reply)) << s.lab.server().log();
        EXPECT_FALSE(reply.has_visited());
        EXPECT_EQ(reply.error(), "no such session") << s.lab.server().log() << s.home->log();
        visit_ctx.TryCancel();
    }
    EXPECT_EQ(s.home->count_log("cannot go on over the relay: no such session"), 2) << s.home->log();
    in.leave();
    // The session itself is untouched.
    EXPECT_EQ(echo_once(user, "two"), "two");
    ::close(user);
}

// A client that holds the key claims a symmetric NAT with a first candidate
// that is not its own address (127.0.0.2, while it connects from 127.0.0.1):
// the server passes the punch on without the claim, so the home client does
// not aim birthday probing's 2048 probes at that address.
TEST(punch, birthday_probing_is_never_aimed_at_an_address_that_is_not_the_peers) {
    punch_setup s("p2p = true\n");
    e2e::intruder in(s.lab.server_port(), "intruder");
    ASSERT_TRUE(in.ok()) << in.result().error();
    v1::ClientMessage msg;
    auto* r = msg.mutable_punch_request();
    r->set_request_id(1);
    r->set_server_name("echo-secret");
    r->set_timestamp(auth::unix_now());
    r->set_nonce(auth::random_bytes(auth::nonce_size));
    r->set_proof(auth::make_visit_proof(auth::visit_key(visit_secret_key), "intruder", "echo-secret",
                                        r->timestamp(), r->nonce()));
    r->add_candidates("127.0.0.2:40000");
    r->set_mapping_varies(true);
    ASSERT_TRUE(in.send(msg));
    EXPECT_TRUE(s.lab.server().wait_log(
        R"(punch \d+: intruder -> echo-secret \(home\): says its NAT is symmetric, but its first )"
        R"(candidate is not its address 127\.0\.0\.1: no birthday probing toward it)"))
        << s.lab.server().log();
    EXPECT_TRUE(s.lab.server().wait_log(R"(visitor candidates passed on \(1\)\n)")) << s.lab.server().log();
    // The home punches the one candidate plainly until it gives up.
    ASSERT_EQ(settled_path(s.home_file), "failed") << s.home->log();
    const auto status = run({bin("burrow-client"), "status", "-c", s.home_file, "--json"});
    EXPECT_NE(status.output.find(R"("birthday_sockets":0,"birthday_ports":0)"), std::string::npos)
        << status.output;
    in.leave();
}

}  // namespace
}  // namespace burrow::e2e
