// Secret proxies and visitors (use case 2 without a public port): a laptop's
// burrow-client reaches the home box's sshd through a visitor port and
// through `burrow-client connect` as ssh's ProxyCommand; the server splices
// each Visit stream onto a Work stream of the home client. Refusals (wrong
// key, unknown name, a client outside allow_clients, a flood of failures)
// close the visitor's connection at once with a line that says why.
#include <csignal>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "ssh_peer.hpp"
#include "tests/e2e/visit_peers.hpp"

namespace burrow::e2e {
namespace {

// Bytes sent, then half-closed, come back whole from an echo service
// through the visitor, and the connection ends with EOF (fin both ways).
std::string echo_through(std::uint16_t port, const std::string& data) {
    const int fd = connect_tcp(port);
    if (fd < 0) return "(no connection)";
    fd_deadline guard(fd, 30s);
    send_all(fd, data.data(), data.size());
    ::shutdown(fd, SHUT_WR);
    auto back = recv_all(fd, 30s);
    ::close(fd);
    return back;
}

TEST(visitor, ssh_reaches_a_home_sshd_that_has_no_public_port) {
    if (geteuid() != 0) GTEST_SKIP() << "sshd with privilege separation needs root";
    ssh_peer sshd;
    ASSERT_TRUE(sshd.ready()) << sshd.log();
    burrow_lab lab(true);
    auto home = start_home(
        lab, secret_proxy("ssh-secret", sshd.port(), "allow_clients = [\"laptop\"]\n"),
        "ssh-secret");

    // The laptop runs a visitor and a tcp proxy of its own at once.
    tcp_service echo(echo_handler);
    const auto visitor_port = free_port();
    const auto laptop_toml = visitor("home-ssh", "ssh-secret", visitor_port) +
                             "[[proxies]]\nname = \"laptop-echo\"\nlocal_port = " +
                             std::to_string(echo.port()) + "\n";
    auto laptop = start_laptop(lab, "laptop", laptop_toml, "home-ssh", visitor_port);
    const auto echo_port = burrow_lab::proxy_port(*laptop, "laptop-echo");
    ASSERT_NE(echo_port, 0) << laptop->log();
    const auto hello = random_bytes(100000, 7);
    EXPECT_EQ(echo_through(echo_port, hello), hello);

    // A command, and 20 MiB each way with equal SHA-256.
    auto r = run(sshd.ssh(visitor_port, "echo ssh-through-a-visitor"), 30s);
    EXPECT_EQ(r.code, 0) << r.output << laptop->log() << lab.server().log();
    EXPECT_NE(r.output.find("ssh-through-a-visitor"), std::string::npos) << r.output;

    const auto file = sshd.dir().file("payload");
    write_text(file, random_bytes(20 << 20, 11));
    const auto want = sha256_hex(slurp(file));
    auto join = [](const std::vector<std::string>& argv) {
        std::string s;
        for (const auto& a : argv) s += "'" + a + "' ";
        return s;
    };
    r = run({"/bin/sh", "-c", join(sshd.ssh(visitor_port, "sha256sum")) + "< " + file}, 60s);
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find(want), std::string::npos) << r.output;
    const auto copy = sshd.dir().file("copy");
    r = run({"/bin/sh", "-c", join(sshd.ssh(visitor_port, "cat " + file)) + "> " + copy}, 60s);
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(sha256_hex(slurp(copy)), want);

    // The same without a local port: burrow-client connect as ProxyCommand.
    const auto config = lab.dir().file("connect.toml");
    write_text(config, lab.client_config({}, "client_id = \"laptop\"") +
                           visitor("home-ssh", "ssh-secret", 0));
    const auto proxy_command = bin("burrow-client") + " connect -c " + config + " home-ssh -l warn";
    r = run(sshd.ssh(0, "echo ssh-through-connect", proxy_command), 30s);
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("ssh-through-connect"), std::string::npos) << r.output;

    // Both ends logged the sessions: the server as a splice, the home client
    // as a connection to its local service for the visitor.
    EXPECT_TRUE(lab.server().wait_log(R"(\[ssh-secret/\d+\] visit closed: \d+ B to the service)"))
        << lab.server().log();
    EXPECT_TRUE(home->wait_log(R"(connected to local 127.0.0.1:\d+ for laptop@127.0.0.1:)"))
        << home->log();
}

TEST(visitor, bytes_and_half_close_pass_through_the_splice_unchanged) {
    burrow_lab lab(false);
    tcp_service echo(echo_handler);
    auto home = start_home(lab, secret_proxy("echo-secret", echo.port()), "echo-secret");
    const auto port = free_port();
    auto laptop = start_laptop(lab, "laptop", visitor("v", "echo-secret", port), "v", port);
    for (const std::size_t size : {std::size_t(1), std::size_t(300000), std::size_t(8 << 20)}) {
        const auto data = random_bytes(size, static_cast<std::uint32_t>(size));
        EXPECT_EQ(sha256_hex(echo_through(port, data)), sha256_hex(data)) << size;
    }
}

// Both clients stop while a visit is open at each end (a Visit call on the
// laptop, a Work call at home): each cancels what it still has open and lets
// its channels go only once gRPC is done with every call (call_census.hpp),
// so each exits 0 promptly (under ASan too: a channel dropped inside a
// reaction was a double free in gRPC).
TEST(visitor, clients_stopped_with_a_visit_open_exit_cleanly) {
    burrow_lab lab(false);
    echo_visit v(lab, "still here");
    ASSERT_TRUE(v.echoed) << v.laptop->log();

    // The laptop stops accepting and gives the open visit shutdown_timeout
    // (10 s) to finish; it goes on meanwhile, then ends with the laptop.
    v.laptop->kill(SIGTERM);
    EXPECT_TRUE(v.laptop->wait_log(
        R"(stopping: nothing new accepted; 1 connection\(s\) open, waiting up to 10 s)", 5s))
        << v.laptop->log();
    ASSERT_TRUE(send_all(v.user, "again", 5));
    char again[5];
    EXPECT_EQ(::recv(v.user, again, 5, MSG_WAITALL), 5);
    EXPECT_EQ(v.laptop->wait_exit(20s), 0) << v.laptop->log();
    EXPECT_TRUE(v.laptop->wait_log(R"(stopping: 1 connection\(s\) still open after 10 s)", 1s))
        << v.laptop->log();
    char byte;
    EXPECT_LE(::recv(v.user, &byte, 1, 0), 0);
    v.home->kill(SIGTERM);
    EXPECT_EQ(v.home->wait_exit(8s), 0) << v.home->log();
    EXPECT_EQ(v.laptop->count_log("gRPC calls did not end"), 0) << v.laptop->log();
    EXPECT_EQ(v.home->count_log("gRPC calls did not end"), 0) << v.home->log();
}

TEST(visitor, refused_visits_close_at_once_and_say_why) {
    burrow_lab lab(false);
    tcp_service echo(echo_handler);
    auto home = start_home(lab, secret_proxy("s", echo.port(), "allow_clients = [\"laptop\"]\n"),
                           "s");
    struct attempt {
        std::string id, name, toml, visitor_line, server_line;
    };
    const auto p1 = free_port(), p2 = free_port(), p3 = free_port();
    const std::vector<attempt> attempts{
        {"laptop", "wrong-key", visitor("wrong-key", "s", p1, "not-the-key-123"),
         "visit refused: wrong secret key",
         "visit to 's' from client laptop at 127.0.0.1:\\d+ refused: wrong secret key"},
        {"laptop", "no-such", visitor("no-such", "nobody", p2),
         "visit refused: no secret proxy of that name",
         "visit to 'nobody' from client laptop at 127.0.0.1:\\d+ refused: no secret proxy"},
        {"stranger", "outsider", visitor("outsider", "s", p3),
         "visit refused: this client is not in allow_clients",
         "visit to 's' from client stranger at 127.0.0.1:\\d+ refused: this client is not"},
    };
    const std::uint16_t ports[] = {p1, p2, p3};
    for (std::size_t i = 0; i < attempts.size(); ++i) {
        const auto& a = attempts[i];
        auto laptop = start_laptop(lab, a.id, a.toml, a.name, ports[i]);
        const auto start = std::chrono::steady_clock::now();
        const auto back = echo_through(ports[i], "hello");
        EXPECT_EQ(back, "") << a.visitor_line;
        EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "a refused visit must close at once";
        EXPECT_TRUE(laptop->wait_log(a.visitor_line)) << laptop->log();
        EXPECT_TRUE(lab.server().wait_log(a.server_line)) << lab.server().log();
    }
    // The home client never saw them; a right visit still works.
    EXPECT_EQ(home->count_log("connected to local"), 0) << home->log();
    const auto ok_port = free_port();
    auto laptop = start_laptop(lab, "laptop", visitor("ok", "s", ok_port), "ok", ok_port);
    EXPECT_EQ(echo_through(ok_port, "still-fine"), "still-fine");
}

TEST(visitor, failures_from_one_address_are_rate_limited) {
    burrow_lab lab(false);
    tcp_service echo(echo_handler);
    auto home = start_home(lab, secret_proxy("s", echo.port()), "s");
    const auto bad = free_port(), good = free_port();
    auto laptop = start_laptop(lab, "laptop",
                               visitor("bad", "s", bad, "guess-guess-guess") +
                                   visitor("good", "s", good),
                               "bad", bad);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(echo_through(bad, "x"), "");
    EXPECT_TRUE(lab.server().wait_log("refused: wrong secret key", 15s, 10)) << lab.server().log();
    EXPECT_EQ(lab.server().count_log("refused: wrong secret key"), 10) << lab.server().log();
    // Past the budget even the right key waits for the minute to pass.
    EXPECT_EQ(echo_through(good, "x"), "");
    EXPECT_TRUE(laptop->wait_log("visit refused: too many failed visits from this address"))
        << laptop->log();
}

TEST(visitor, connect_exits_non_zero_when_refused_and_with_no_such_visitor) {
    burrow_lab lab(false);
    tcp_service echo(echo_handler);
    auto home = start_home(lab, secret_proxy("s", echo.port()), "s");
    const auto config = lab.dir().file("laptop.toml");
    write_text(config, lab.client_config({}, "client_id = \"laptop\"") +
                           visitor("wrong", "s", 0, "not-the-key-123") + visitor("right", "s", 0));
    auto r = run({bin("burrow-client"), "connect", "-c", config, "wrong"}, 30s);
    EXPECT_EQ(r.code, 1) << r.output;
    EXPECT_NE(r.output.find("visit refused: wrong secret key"), std::string::npos) << r.output;
    r = run({bin("burrow-client"), "connect", "-c", config, "missing"}, 30s);
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_NE(r.output.find("has no visitor named 'missing'"), std::string::npos) << r.output;
    r = run({bin("burrow-client"), "connect", "-c", config}, 30s);
    EXPECT_EQ(r.code, 2) << r.output;
}

}  // namespace
}  // namespace burrow::e2e
