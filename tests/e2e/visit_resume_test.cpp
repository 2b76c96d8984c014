// Resumption of visits end to end: a real ssh session through a visitor,
// with the laptop's link or the home client's link running through a relay
// the test kills and starts again. The same ssh session completes with the
// same bytes; a cut longer than resume_timeout resets the visit, and new
// visits work afterwards.
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <regex>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/e2e/harness.hpp"
#include "tests/e2e/intruder.hpp"
#include "tests/e2e/link_relay.hpp"
#include "tests/e2e/ssh_peer.hpp"
#include "tests/e2e/visit_peers.hpp"

namespace burrow::e2e {
namespace {

std::string quoted(const std::vector<std::string>& argv) {
    std::string s;
    for (const auto& a : argv) s += "'" + a + "' ";
    return s;
}

// A shell loop that writes `file` (`mib` MiB) 1 MiB at a time, 100 ms
// apart: a transfer that lasts beyond a cut.
std::string paced_cat(const std::string& file, int mib) {
    return "i=0; while [ $i -lt " + std::to_string(mib) + " ]; do dd if=" + file +
           " bs=1M skip=$i count=1 status=none; sleep 0.1; i=$((i+1)); done";
}

off_t size_of(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

constexpr int transfer_mib = 50;

// The laptop's link breaks in the middle of a download through its visitor:
// the home client's stream goes on, and when the laptop is back the server
// has the home end rewind to what the laptop holds.
TEST(visit_resume, an_ssh_download_through_a_visitor_survives_a_cut_of_the_laptop_link) {
    if (geteuid() != 0) GTEST_SKIP() << "sshd with privilege separation needs root";
    ssh_peer sshd;
    ASSERT_TRUE(sshd.ready()) << sshd.log();
    burrow_lab lab(true);
    auto home = start_home(lab, secret_proxy("ssh-secret", sshd.port()), "ssh-secret");
    relay link(lab.dir(), lab.server_port());
    link.up();
    const auto port = free_port();
    auto laptop = start_laptop(lab, "laptop", visitor("home-ssh", "ssh-secret", port), "home-ssh",
                               port, link.port());

    const auto file = sshd.dir().file("payload");
    write_text(file, random_bytes(std::size_t(transfer_mib) << 20, 31));
    const auto want = sha256_hex(slurp(file));
    const auto copy = sshd.dir().file("copy");
    run_result r;
    std::thread ssh([&] {
        r = run({"/bin/sh", "-c", quoted(sshd.ssh(port, paced_cat(file, transfer_mib))) + "> " + copy},
                120s);
    });
    ASSERT_TRUE(within([&] { return size_of(copy) > (4 << 20); }, 30s)) << laptop->log();
    link.cut();
    EXPECT_TRUE(lab.server().wait_log(R"(\[ssh-secret/\d+\] visitor side away)", 10s))
        << lab.server().log();
    std::this_thread::sleep_for(5s);
    link.up();
    // While it runs on, the laptop lists it as a visit that resumed once.
    EXPECT_TRUE(laptop->wait_log(R"(\[home-ssh/1\] resumed after \d+ ms)", 30s)) << laptop->log();
    const auto status = run({bin("burrow-client"), "status", "-c", lab.dir().file("laptop2.toml") /* home1 came first */,
                             "--json"});
    EXPECT_TRUE(std::regex_search(
        status.output, std::regex(R"("kind":"visit","tag":"\[home-ssh/1\]",.*"resumptions":1)")))
        << status.output;
    ssh.join();
    EXPECT_EQ(r.code, 0) << r.output << laptop->log() << lab.server().log();
    EXPECT_EQ(size_of(copy), off_t(transfer_mib) << 20);
    EXPECT_EQ(sha256_hex(slurp(copy)), want);
    EXPECT_TRUE(lab.server().wait_log(R"(visitor side back after \d+ ms)", 1s)) << lab.server().log();
    EXPECT_TRUE(home->wait_log(R"(rewound: the peer came back holding \d+ B)", 1s)) << home->log();
    EXPECT_TRUE(laptop->wait_log(R"(\[home-ssh/1\] resumed after \d+ ms)", 1s)) << laptop->log();
    EXPECT_TRUE(lab.server().wait_log(R"(visit closed: .* 1 resumptions)", 10s))
        << lab.server().log();
}

// The home client's link breaks in the middle of an upload through the
// visitor: the laptop's stream goes on, and it rewinds when home is back.
TEST(visit_resume, an_ssh_upload_through_a_visitor_survives_a_cut_of_the_home_link) {
    if (geteuid() != 0) GTEST_SKIP() << "sshd with privilege separation needs root";
    ssh_peer sshd;
    ASSERT_TRUE(sshd.ready()) << sshd.log();
    burrow_lab lab(true);
    relay link(lab.dir(), lab.server_port());
    link.up();
    auto home = lab.start_client(via(lab.client_config({}, "client_id = \"home\"") +
                                         secret_proxy("ssh-secret", sshd.port()),
                                     link.port()),
                                 "home");
    ASSERT_TRUE(home->wait_log(R"(\[ssh-secret\] proxy up: secret)")) << home->log();
    const auto port = free_port();
    auto laptop = start_laptop(lab, "laptop", visitor("home-ssh", "ssh-secret", port), "home-ssh",
                               port);

    const auto file = sshd.dir().file("payload");
    write_text(file, random_bytes(std::size_t(transfer_mib) << 20, 32));
    const auto want = sha256_hex(slurp(file));
    run_result r;
    std::thread ssh([&] {
        r = run({"/bin/sh", "-c",
                 "(" + paced_cat(file, transfer_mib) + ") | " + quoted(sshd.ssh(port, "sha256sum"))},
                120s);
    });
    ASSERT_TRUE(home->wait_log("connected to local", 30s)) << home->log();
    std::this_thread::sleep_for(1500ms);  // bytes flow
    link.cut();
    EXPECT_TRUE(lab.server().wait_log(R"(\[ssh-secret/\d+\] service side away)", 10s))
        << lab.server().log();
    std::this_thread::sleep_for(5s);
    link.up();
    ssh.join();
    EXPECT_EQ(r.code, 0) << r.output << home->log() << lab.server().log();
    EXPECT_NE(r.output.find(want), std::string::npos) << r.output;
    EXPECT_TRUE(lab.server().wait_log(R"(service side back after \d+ ms)", 1s)) << lab.server().log();
    EXPECT_TRUE(laptop->wait_log(R"(\[home-ssh/1\] rewound)", 1s)) << laptop->log();
}

// Past resume_timeout the visit is given up: the laptop's connection is
// reset (not closed), and the visitor serves new connections once back.
TEST(visit_resume, a_visit_cut_longer_than_resume_timeout_is_reset) {
    burrow_lab lab(false, "resume_timeout = 2");
    tcp_service echo(echo_handler);
    auto home = start_home(lab, secret_proxy("echo-secret", echo.port()), "echo-secret");
    relay link(lab.dir(), lab.server_port());
    link.up();
    const auto port = free_port();
    auto laptop = start_laptop(lab, "laptop", visitor("v", "echo-secret", port), "v", port,
                               link.port());
    const int user = connect_tcp(port);
    ASSERT_GE(user, 0);
    fd_deadline guard(user, 60s);
    ASSERT_EQ(echo_once(user, "abc"), "abc");

    link.cut();
    ASSERT_TRUE(lab.server().wait_log("visitor did not come back within 2 s", 15s))
        << lab.server().log();
    link.up();
    errno = 0;
    char b;
    EXPECT_EQ(::recv(user, &b, 1, 0), -1);
    EXPECT_EQ(errno, ECONNRESET);
    ::close(user);
    EXPECT_TRUE(laptop->wait_log(R"(\[v/1\] reset: )", 5s)) << laptop->log();

    ASSERT_TRUE(laptop->wait_log("logged in to", 30s, 2)) << laptop->log();
    const int again = connect_tcp(port);
    ASSERT_GE(again, 0);
    fd_deadline guard2(again, 30s);
    EXPECT_EQ(echo_once(again, "def"), "def");
    ::close(again);
}

// A logged-in intruder says that visits it is no end of moved onto a direct
// path (SessionMoved): ignored and logged; the visit goes on through the
// server and closes normally.
TEST(visit_resume, a_moved_notice_from_a_client_outside_the_visit_is_ignored) {
    burrow_lab lab;
    echo_visit v(lab, "one");
    ASSERT_TRUE(v.echoed) << v.laptop->log();

    intruder in(lab.server_port(), "intruder");
    ASSERT_TRUE(in.ok()) << in.result().error();
    constexpr int ids = 16;  // the visit's two ids are among the first few
    for (int id = 1; id <= ids; ++id) {
        v1::ClientMessage msg;
        msg.mutable_session_moved()->set_session_id(static_cast<std::uint64_t>(id));
        ASSERT_TRUE(in.send(msg));
    }
    EXPECT_TRUE(lab.server().wait_log(R"(client #\d+ intruder \([0-9.:]+\): session )" +
                                      std::to_string(ids) +
                                      " it says moved is not one of its visits: ignored"))
        << lab.server().log();
    in.leave();

    EXPECT_EQ(echo_once(v.user, "two"), "two");
    ::shutdown(v.user, SHUT_WR);
    EXPECT_EQ(recv_all(v.user, 10s), "");
    EXPECT_TRUE(lab.server().wait_log(R"(visit closed: 6 B to the service, 6 B to the visitor)"))
        << lab.server().log();
    EXPECT_EQ(lab.server().count_log("moved to a direct path"), 0) << lab.server().log();
}

}  // namespace
}  // namespace burrow::e2e
