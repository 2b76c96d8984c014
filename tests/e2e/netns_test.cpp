// Resumption across real network faults, in network namespaces the test
// makes (root, as CI runs; ../shared/NATLAB.md):
//
//   server ns             router ns (forwards)          home ns
//   203.0.113.10 s0 ---- rs 203.0.113.1
//                           198.51.100.1 ra ------- a0 198.51.100.2  (first link)
//                           192.0.2.1    rb ------- b0 192.0.2.2     (second link)
//
// A download from a home service through a tcp proxy survives nftables
// dropping every packet of the home client for 8 s (a silent cut), and the
// home client's default route moving to its second link (a new source
// address: Wi-Fi -> 4G), which its netlink watch notices at once. The
// namespaces go when the test ends, also when it fails.
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/e2e/harness.hpp"
#include "tests/e2e/link_relay.hpp"
#include "tests/e2e/netns.hpp"

namespace burrow::e2e {
namespace {

// Three namespaces wired as above; removed on destruction.
class netlab : public netns_set {
public:
    netlab() {
        ready_ = add("s") && add("r") && add("h") &&
                 cmd({ip, "link", "add", "s0", "netns", ns("s"), "type", "veth", "peer", "name",
                      "rs", "netns", ns("r")}) &&
                 cmd({ip, "link", "add", "a0", "netns", ns("h"), "type", "veth", "peer", "name",
                      "ra", "netns", ns("r")}) &&
                 cmd({ip, "link", "add", "b0", "netns", ns("h"), "type", "veth", "peer", "name",
                      "rb", "netns", ns("r")}) &&
                 in("s", "ip addr add 203.0.113.10/24 dev s0 && ip link set s0 up && "
                         "ip route add default via 203.0.113.1") &&
                 in("r", "ip addr add 203.0.113.1/24 dev rs && ip addr add 198.51.100.1/24 dev ra "
                         "&& ip addr add 192.0.2.1/24 dev rb && ip link set rs up && "
                         "ip link set ra up && ip link set rb up && "
                         "sysctl -qw net.ipv4.ip_forward=1") &&
                 in("h", "ip addr add 198.51.100.2/24 dev a0 && ip addr add 192.0.2.2/24 dev b0 "
                         "&& ip link set a0 up && ip link set b0 up && "
                         "ip route add default via 198.51.100.1 dev a0");
    }
    bool ready() const { return ready_; }

private:
    bool ready_ = false;
};

// A burrow-server in the server namespace and a home client in the home
// namespace, serving a paced download from a service there.
class netns_resume : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "network namespaces need root";
        ASSERT_TRUE(net_.ready()) << net_.errors();
        // The home service: a paced download, started in the home namespace.
        ASSERT_TRUE(net_.on_thread_in("h", [&] {
            service_ = std::make_unique<tcp_service>([this](int fd) {
                paced_send(fd, body_, 50ms);
                ::shutdown(fd, SHUT_WR);
                char b;
                while (::recv(fd, &b, 1, 0) > 0) {
                }
            });
        }));
    }

    // The server with `heartbeat_timeout`, and the home client with
    // `transport` in its [transport] table.
    void start(int heartbeat_timeout, const std::string& transport) {
        write_text(dir_.file("server.toml"),
                   "bind_addr = \"0.0.0.0\"\nbind_port = 0\nproxy_bind_addr = \"127.0.0.1\"\n"
                   "heartbeat_timeout = " + std::to_string(heartbeat_timeout) +
                       "\n[auth]\ntoken = \"" + burrow_lab::token + "\"\n[tls]\nenable = false\n");
        server_ = std::make_unique<process>(
            net_.exec_in("s", {bin("burrow-server"), "-c", dir_.file("server.toml")}),
            dir_.file("server.log"));
        const auto listening = server_->wait_log(R"(listening for clients on 0\.0\.0\.0:(\d+))");
        ASSERT_TRUE(listening) << server_->log();
        server_port_ = *listening;
        write_text(dir_.file("home.toml"),
                   "server_addr = \"203.0.113.10\"\nserver_port = " + server_port_ +
                       "\nclient_id = \"home\"\n[auth]\ntoken = \"" + burrow_lab::token +
                       "\"\n[tls]\nenable = false\n[transport]\npool_count = 2\n" + transport +
                       "\n[[proxies]]\nname = \"data\"\nlocal_port = " +
                       std::to_string(service_->port()) + "\n");
        home_ = std::make_unique<process>(
            net_.exec_in("h", {bin("burrow-client"), "-c", dir_.file("home.toml")}),
            dir_.file("home.log"));
        const auto port = home_->wait_log(R"(\[data\] proxy up: remote port (\d+))");
        ASSERT_TRUE(port) << home_->log() << server_->log();
        remote_port_ = static_cast<std::uint16_t>(std::stoi(*port));
    }

    // A user in the server namespace starts the download; `got` fills on a thread.
    void start_download() {
        ASSERT_TRUE(net_.on_thread_in("s", [&] { user_ = connect_tcp(remote_port_); }));
        ASSERT_GE(user_, 0);
        deadline_ = std::make_unique<fd_deadline>(user_, 120s);
        reader_ = std::thread([this] { got_ = recv_all(user_, 120s); });
        ASSERT_TRUE(home_->wait_log("connected to local", 15s)) << home_->log();
        std::this_thread::sleep_for(1500ms);  // bytes flow
    }

    void finish_download() {
        if (reader_.joinable()) reader_.join();
        EXPECT_EQ(got_.size(), body_.size()) << home_->log() << server_->log();
        EXPECT_EQ(sha256_hex(got_), sha256_hex(body_));
    }

    void TearDown() override {
        if (reader_.joinable()) reader_.join();
        deadline_.reset();
        if (user_ >= 0) ::close(user_);
        home_.reset();
        server_.reset();
        service_.reset();
    }

    netlab net_;
    temp_dir dir_;
    const std::string body_ = random_bytes(40u << 20, 41);  // 40 MiB at ~5 MiB/s
    std::unique_ptr<process> server_, home_;
    std::unique_ptr<tcp_service> service_;
    std::string server_port_;
    std::uint16_t remote_port_ = 0;
    int user_ = -1;
    std::unique_ptr<fd_deadline> deadline_;
    std::thread reader_;
    std::string got_;
};

// Every packet of the home client is dropped for 8 s: both sides notice the
// silence (heartbeat_timeout 3 s), the client dials a fresh connection until
// the path is back, and the session resumes intact.
TEST_F(netns_resume, a_download_survives_8_s_of_dropped_packets) {
    start(3, "heartbeat_interval = 1\nheartbeat_timeout = 3\n");
    start_download();
    ASSERT_TRUE(net_.in("h", "nft add table inet cut && "
                             "nft add chain inet cut out '{ type filter hook output priority 0; }' && "
                             "nft add rule inet cut out ip daddr 203.0.113.10 drop && "
                             "nft add chain inet cut in '{ type filter hook input priority 0; }' && "
                             "nft add rule inet cut in ip saddr 203.0.113.10 drop"))
        << net_.errors();
    std::this_thread::sleep_for(8s);
    const auto restored = std::chrono::steady_clock::now();  // the delete takes some ms
    ASSERT_TRUE(net_.in("h", "nft delete table inet cut")) << net_.errors();
    EXPECT_TRUE(home_->wait_log(R"(\[data/\d+\] resumed after \d+ ms)", 30s)) << home_->log();
    const auto resumed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - restored)
                                .count();
    std::printf("[ figure   ] silent cut of 8 s: session resumed %lld ms after the drop began to be lifted\n",
                static_cast<long long>(resumed_ms));
    finish_download();
    EXPECT_TRUE(home_->wait_log("server silent for 3 s", 1s)) << home_->log();
    EXPECT_TRUE(server_->wait_log(R"(client .* away: no heartbeat)", 1s)) << server_->log();
}

// The home client's first link goes down and its default route moves to the
// second link (another address). Heartbeat timeouts are the default 30 s:
// only the netlink watch can make it resume within 5 s of the move.
TEST_F(netns_resume, a_download_resumes_within_5_s_of_a_move_to_another_link) {
    start(30, "");
    start_download();
    const auto moved = std::chrono::steady_clock::now();
    ASSERT_TRUE(net_.in("h", "ip link set a0 down && ip route add default via 192.0.2.1 dev b0"))
        << net_.errors();
    EXPECT_TRUE(home_->wait_log("network changed: the route to 203.0.113.10:\\d+ now leaves from "
                                "192.0.2.2 \\(was 198.51.100.2\\)",
                                5s))
        << home_->log();
    ASSERT_TRUE(home_->wait_log(R"(\[data/\d+\] resumed after \d+ ms)", 10s)) << home_->log();
    const auto resumed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - moved)
                                .count();
    std::printf("[ figure   ] default route moved to a second link: session resumed %lld ms later\n",
                static_cast<long long>(resumed_ms));
    EXPECT_LT(resumed_ms, 5000);
    finish_download();
    EXPECT_TRUE(server_->wait_log(R"(client .* back after \d+ ms: run resumed)", 1s))
        << server_->log();
}

}  // namespace
}  // namespace burrow::e2e
