// Burrow's direct-path machinery behind real kernel NATs (tests/natlab/lab.hpp):
// what `burrow-client nat` says behind each kind of NAT, and which pairs of
// NATs a visitor and a home client punch through (NATLAB.md's expected
// outcomes, and symmetric <-> port-restricted cone by birthday probing), with
// data flowing over the relay meanwhile in every case.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/e2e/harness.hpp"
#include "tests/e2e/ssh_peer.hpp"
#include "tests/natlab/lab.hpp"

namespace burrow::natlab {
namespace {

using namespace std::chrono_literals;
using e2e::bin;
using e2e::process;
using e2e::temp_dir;
using e2e::write_text;

constexpr const char* token = "natlab-token-5d1e";
constexpr const char* secret = "natlab-secret-key-91";

// A lab with a burrow-server on the server namespace, and helpers to start
// clients on hosts behind the NATs.
class p2p_lab : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "network namespaces need root";
        ASSERT_TRUE(lab_.ready()) << lab_.errors();
    }

    void add_sites(const std::vector<std::pair<std::string, nat_kind>>& sites) {
        for (const auto& [name, kind] : sites) ASSERT_TRUE(lab_.add_site(name, kind)) << lab_.errors();
    }

    void start_server() {
        write_text(dir_.file("server.toml"),
                   std::string("bind_addr = \"0.0.0.0\"\nbind_port = 0\n") +
                       "proxy_bind_addr = \"0.0.0.0\"\ndata_dir = \"data\"\n[auth]\ntoken = \"" +
                       token + "\"\n[tls]\nenable = false\n");
        server_ = std::make_unique<process>(
            lab_.exec_in(lab::server_ns(), {bin("burrow-server"), "-c", dir_.file("server.toml")}),
            dir_.file("server.log"));
        const auto port = server_->wait_log(R"(listening for clients on 0\.0\.0\.0:(\d+))");
        ASSERT_TRUE(port) << server_->log();
        ASSERT_TRUE(server_->wait_log(R"(rendezvous \(STUN\) on udp)")) << server_->log();
        server_port_ = *port;
    }

    // A client config for a host: `extra` goes after the common part.
    std::string client_config(const std::string& id, const std::string& extra) const {
        return "server_addr = \"" + lab::server_addr() + "\"\nserver_port = " + server_port_ +
               "\nclient_id = \"" + id + "\"\n[auth]\ntoken = \"" + token +
               "\"\n[tls]\nenable = false\n[transport]\npool_count = 2\n" + extra;
    }

    std::string write_config(const std::string& name, const std::string& text) {
        write_text(dir_.file(name + ".toml"), text);
        return dir_.file(name + ".toml");
    }

    lab lab_;
    temp_dir dir_;
    std::unique_ptr<process> server_;
    std::string server_port_;
};

// ---- burrow-client nat ----

struct nat_case {
    const char* site;
    nat_kind kind;
    const char* type;     // what `nat --json` must say
    const char* mapping;
};

TEST_F(p2p_lab, burrow_client_nat_tells_each_kind_of_nat) {
    const std::vector<nat_case> cases{
        {"none", nat_kind::none, "port_restricted", "none"},  // no NAT, a stateful firewall
        {"prc", nat_kind::port_restricted, "port_restricted", "endpoint-independent"},
        {"sym", nat_kind::symmetric, "symmetric", "endpoint-dependent"},
        {"full", nat_kind::full_cone, "cone", "endpoint-independent"},
        {"rc", nat_kind::restricted_cone, "cone", "endpoint-independent"},
    };
    for (const auto& c : cases) add_sites({{c.site, c.kind}});
    start_server();
    for (const auto& c : cases) {
        const auto file = write_config(std::string("nat-") + c.site, client_config(c.site, ""));
        const auto r = e2e::run(lab_.exec_in(lab::host_ns(c.site),
                                             {bin("burrow-client"), "nat", "-c", file, "--json"}),
                                60s);
        std::printf("[ nat      ] %-16s %s", to_string(c.kind), r.output.c_str());
        EXPECT_EQ(r.code, 0) << c.site << ": " << r.output;
        EXPECT_NE(r.output.find(std::string("\"type\":\"") + c.type + "\""), std::string::npos)
            << c.site << ": " << r.output;
        EXPECT_NE(r.output.find(std::string("\"mapping\":\"") + c.mapping + "\""), std::string::npos)
            << c.site << ": " << r.output;
        EXPECT_NE(r.output.find("\"local\":\"" + lab_.host_addr(c.site) + ":"), std::string::npos)
            << c.site << ": " << r.output;
    }
}

// ---- punching ----

// The state of the first direct path in a `status --json` ("up", "failed",
// "punching"...), and its punch id and peer; empty when there is none.
struct path_seen {
    std::string state, punch_id, peer_addr, mapped;
    double quiet_s = -1;  // since the peer last answered
    std::string quic;     // "up" once new sessions go direct
    int birthday_sockets = -1;  // extra sockets this side probed from
};
path_seen first_path(const std::string& status_json) {
    static const std::regex path(
        R"re("direct_paths":\[\{"role":"[a-z]+","name":"[^"]*","peer":"[^"]*","state":"([a-z]+)","peer_addr":"([^"]*)","mapped":"([^"]*)".*?"punch_id":(\d+))re");
    std::smatch m;
    if (!std::regex_search(status_json, m, path)) return {};
    static const std::regex quiet(R"re("quiet_s":([0-9.]+))re");
    std::smatch q;
    const std::string rest = m[0].str();
    const double quiet_s = std::regex_search(rest, q, quiet) ? std::stod(q[1].str()) : -1;
    static const std::regex quic(R"re("punch_id":\d+,"quic":"([a-z]+)")re");
    const std::string tail = status_json.substr(static_cast<std::size_t>(m.position(0)));
    const auto quic_state = std::regex_search(tail, q, quic) ? q[1].str() : std::string();
    static const std::regex sockets(R"re("birthday_sockets":(\d+))re");
    const int birthday_sockets = std::regex_search(tail, q, sockets) ? std::stoi(q[1].str()) : -1;
    return {m[1].str(), m[4].str(), m[2].str(), m[3].str(), quiet_s, quic_state, birthday_sockets};
}

// A home client (an echo service behind a secret proxy with p2p = true) on
// site "h" and a visitor (port 6000, p2p = true) on site "v".
class punch_pair : public p2p_lab {
protected:
    // The secret proxy serves an echo service on the home's host, or the
    // port `service` starts there (once the sites exist), when given.
    void start_pair(nat_kind visitor_kind, nat_kind home_kind, const std::string& p2p_keys = "",
                    bool visitor_second_link = false,
                    const std::function<std::uint16_t()>& service = {}) {
        add_sites({{"v", visitor_kind}, {"h", home_kind}});
        if (visitor_second_link) {
            ASSERT_TRUE(lab_.add_site("v2", visitor_kind)) << lab_.errors();
            ASSERT_TRUE(lab_.add_second_link("v", "v2")) << lab_.errors();
        }
        start_server();
        ASSERT_TRUE(lab_.on_thread_in(lab::host_ns("h"), [&] {
            echo_ = std::make_unique<e2e::tcp_service>(e2e::echo_handler);
        }));
        const std::uint16_t service_port = service ? service() : 0;
        home_file_ = write_config(
            "home", client_config("home", p2p_keys + "[[proxies]]\nname = \"ssh-secret\"\n"
                                          "type = \"secret\"\nlocal_port = " +
                                              std::to_string(service_port ? service_port : echo_->port()) +
                                              "\nsecret_key = \"" +
                                              secret + "\"\np2p = true\n"));
        home_ = std::make_unique<process>(
            lab_.exec_in(lab::host_ns("h"), {bin("burrow-client"), "-c", home_file_}),
            dir_.file("home.log"));
        ASSERT_TRUE(home_->wait_log(R"(\[ssh-secret\] proxy up)")) << home_->log() << server_->log();
        visitor_file_ = write_config(
            "visitor", client_config("laptop", p2p_keys + "[[visitors]]\nname = \"home-ssh\"\n"
                                               "server_name = \"ssh-secret\"\nsecret_key = \"" +
                                                   std::string(secret) +
                                                   "\"\nbind_port = 6000\np2p = true\n"));
        visitor_ = std::make_unique<process>(
            lab_.exec_in(lab::host_ns("v"), {bin("burrow-client"), "-c", visitor_file_}),
            dir_.file("visitor.log"));
        ASSERT_TRUE(visitor_->wait_log("logged in to")) << visitor_->log();
    }

    // 1 MiB through the visitor's port and back (over the relay, for now).
    bool echo_through_visitor() {
        bool ok = false;
        lab_.on_thread_in(lab::host_ns("v"), [&] {
            e2e::wait_listening(6000);
            ok = e2e::echo_works(6000, 1 << 20);
        });
        return ok;
    }

    // The path ("relay" or "p2p") of a connection through the visitor's
    // port, seen in the visitor's status while the connection is open.
    std::string held_session_path() {
        std::string path = "no session listed";
        lab_.on_thread_in(lab::host_ns("v"), [&] {
            const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
            sockaddr_in to{};
            to.sin_family = AF_INET;
            to.sin_port = htons(6000);
            to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            char c = 'x';
            if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0 &&
                ::write(fd, &c, 1) == 1 && ::read(fd, &c, 1) == 1) {  // echoed: the session runs
                const auto status =
                    e2e::run({bin("burrow-client"), "status", "-c", visitor_file_, "--json"}).output;
                static const std::regex session(R"re("sessions":\[\{[^}]*"path":"([a-z0-9]+)")re");
                std::smatch m;
                path = std::regex_search(status, m, session) ? m[1].str() : "not in: " + status;
            }
            ::close(fd);
        });
        return path;
    }

    // Seconds from `since` until the visitor's status --json satisfies
    // `done` (polled), or -1 when it did not before `since + limit`.
    double seconds_until(std::chrono::steady_clock::time_point since,
                         const std::function<bool(const std::string& status)>& done,
                         std::chrono::milliseconds limit) {
        while (std::chrono::steady_clock::now() < since + limit) {
            const auto status = e2e::run(lab_.exec_in(lab::host_ns("v"), {bin("burrow-client"), "status",
                                                                        "-c", visitor_file_, "--json"}))
                                    .output;
            if (done(status))
                return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
            std::this_thread::sleep_for(50ms);
        }
        return -1;
    }

    path_seen status_of(const std::string& site, const std::string& file) {
        return first_path(
            e2e::run(lab_.exec_in(lab::host_ns(site), {bin("burrow-client"), "status", "-c", file, "--json"}))
                .output);
    }

    // Polls the first path of the client on `site` (config `file`) until
    // `done` holds (or `limit` passes).
    path_seen wait_path(const std::string& site, const std::string& file,
                        const std::function<bool(const path_seen&)>& done,
                        std::chrono::milliseconds limit = 30s) {
        const auto until = std::chrono::steady_clock::now() + limit;
        path_seen p;
        while (std::chrono::steady_clock::now() < until) {
            p = status_of(site, file);
            if (done(p)) return p;
            std::this_thread::sleep_for(100ms);
        }
        return p;
    }
    path_seen wait_visitor(const std::function<bool(const path_seen&)>& done,
                           std::chrono::milliseconds limit = 30s) {
        return wait_path("v", visitor_file_, done, limit);
    }
    static bool settled(const path_seen& p) { return p.state == "up" || p.state == "failed"; }

    void TearDown() override {
        visitor_.reset();
        home_.reset();
        server_.reset();
        echo_.reset();
    }

    std::unique_ptr<e2e::tcp_service> echo_;
    std::unique_ptr<process> home_, visitor_;
    std::string home_file_, visitor_file_;
};

struct punch_case {
    nat_kind visitor, home;
    bool direct;  // NATLAB.md: cone<->cone and symmetric<->(full|restricted) cone punch
    // Symmetric <-> port-restricted cone punches only by birthday probing
    // (common/p2p/birthday.hpp): the symmetric side gets through from one of
    // its extra sockets. Symmetric <-> symmetric stays on the relay.
    bool birthday = false;
};

class punch_matrix : public punch_pair, public ::testing::WithParamInterface<punch_case> {};

TEST_P(punch_matrix, visitor_and_home_punch_where_the_nats_allow_and_data_flows_either_way) {
    const auto c = GetParam();
    start_pair(c.visitor, c.home);
    // The first connection starts the punch and is carried by the relay at once.
    const auto first = std::chrono::steady_clock::now();
    EXPECT_TRUE(echo_through_visitor()) << visitor_->log() << home_->log();
    const auto v = wait_visitor(settled);
    const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - first).count();
    const auto h = wait_path("h", home_file_, settled, 10s);
    std::printf("[ punch    ] visitor %-16s home %-16s -> visitor %s, home %s (%.2f s after the first "
                "connection)\n",
                to_string(c.visitor), to_string(c.home), v.state.c_str(), h.state.c_str(), took);
    EXPECT_EQ(v.state, c.direct ? "up" : "failed") << visitor_->log() << home_->log() << server_->log();
    if (c.direct) {
        EXPECT_EQ(h.state, "up") << home_->log();
        EXPECT_EQ(v.punch_id, h.punch_id);
        // Against a full or restricted cone the plain probes usually win
        // before birthday probing starts, but either may.
        const auto& hard = c.visitor == nat_kind::symmetric ? *visitor_ : *home_;
        const auto extra = hard.count_log("through the symmetric NAT from extra socket");
        EXPECT_LE(extra, 1) << hard.log();
        // Birthday probing got through: as a rule from one of the symmetric
        // side's extra sockets; about once in (sockets + 1) the other side's
        // spray finds the mapping of its own socket first (a CI run saw it).
        if (c.birthday) {
            EXPECT_GT((c.visitor == nat_kind::symmetric ? v : h).birthday_sockets, 0)
                << hard.log();
        }
        const auto q = wait_visitor([](const path_seen& p) { return p.quic == "up"; }, 10s);
        EXPECT_EQ(q.quic, "up") << visitor_->log() << home_->log();
    }
    // New connections go direct where the path is up, over the relay
    // elsewhere; every byte comes back either way.
    EXPECT_EQ(held_session_path(), c.direct ? "p2p" : "relay") << visitor_->log();
    EXPECT_TRUE(echo_through_visitor()) << visitor_->log();
    if (c.direct)
        EXPECT_GE(visitor_->count_log(R"(direct \(p2p\))"), 2) << visitor_->log();
    else
        EXPECT_EQ(visitor_->count_log(R"(direct \(p2p\))"), 0) << visitor_->log();
}

// Both routers forget an idle UDP mapping after 3 s; keepalives every second
// keep the path up for three times that: the same punch, never failed, and
// the peer's answers still arriving through both NATs at the end.
TEST_F(punch_pair, keepalives_hold_an_idle_path_open_past_the_nat_timeouts) {
    start_pair(nat_kind::port_restricted, nat_kind::port_restricted, "[p2p]\nkeepalive = 1\n");
    ASSERT_TRUE(lab_.set_udp_timeouts("v", 3) && lab_.set_udp_timeouts("h", 3)) << lab_.errors();
    EXPECT_TRUE(echo_through_visitor());
    const auto up = wait_visitor(settled);
    ASSERT_EQ(up.state, "up") << visitor_->log();
    std::this_thread::sleep_for(9s);  // three times the routers' timeout, idle
    const auto later = status_of("v", visitor_file_);
    EXPECT_EQ(later.state, "up") << visitor_->log();
    EXPECT_EQ(later.punch_id, up.punch_id) << "the same path, never punched again";
    EXPECT_GE(later.quiet_s, 0.0);
    EXPECT_LT(later.quiet_s, 2.5) << "the peer's keepalive answers still come through";
    EXPECT_EQ(visitor_->count_log("direct path failed"), 0) << visitor_->log();
}

// The direct path's packets are dropped: keepalives go unanswered, the path
// is given up within 5 s, and once the drop ends it is punched again from a
// fresh port (a new punch) without any user action; the relay carries on.
TEST_F(punch_pair, a_dead_path_is_noticed_and_punched_again_from_a_fresh_port) {
    start_pair(nat_kind::port_restricted, nat_kind::port_restricted, "[p2p]\nkeepalive = 1\n");
    EXPECT_TRUE(echo_through_visitor());
    const auto up = wait_visitor(settled);
    ASSERT_EQ(up.state, "up") << visitor_->log();
    const auto peer_ip = up.peer_addr.substr(0, up.peer_addr.rfind(':'));
    ASSERT_TRUE(lab_.in(lab::host_ns("v"),
                        "nft add table inet cut && nft add chain inet cut out "
                        "'{ type filter hook output priority 0; }' && nft add rule inet cut out "
                        "ip daddr " + peer_ip + " udp dport 1-65535 drop"))
        << lab_.errors();
    const auto cut = std::chrono::steady_clock::now();
    // Either side may notice first: the visitor's keepalives go unanswered,
    // or the home's do and its QUIC closes the connection.
    ASSERT_TRUE(visitor_->wait_log(
        "direct path failed: (no answer to keepalives|QUIC: the peer closed the connection)", 15s))
        << visitor_->log();
    const auto noticed = std::chrono::duration<double>(std::chrono::steady_clock::now() - cut).count();
    ASSERT_TRUE(lab_.in(lab::host_ns("v"), "nft delete table inet cut")) << lab_.errors();
    const auto again = wait_visitor([&](const path_seen& p) {
        return p.state == "up" && p.punch_id != up.punch_id;
    });
    std::printf("[ figure   ] dead direct path noticed after %.1f s; punched again (punch %s -> %s)\n",
                noticed, up.punch_id.c_str(), again.punch_id.c_str());
    EXPECT_LE(noticed, 8.0);
    EXPECT_EQ(again.state, "up") << visitor_->log() << home_->log();
    EXPECT_NE(again.punch_id, up.punch_id);
    EXPECT_TRUE(visitor_->wait_log("punching again from a fresh port", 1s)) << visitor_->log();
    EXPECT_TRUE(echo_through_visitor());
}

// The visitor moves to another NAT (its default route to a second link, a
// new public address): it re-announces its candidates after logging in again
// and the home client punches back; the path is up again within 5 s.
TEST_F(punch_pair, a_visitor_that_roams_to_another_nat_gets_its_direct_path_back) {
    start_pair(nat_kind::port_restricted, nat_kind::port_restricted, "", true);
    EXPECT_TRUE(echo_through_visitor());
    const auto up = wait_visitor(settled);
    ASSERT_EQ(up.state, "up") << visitor_->log();
    const auto moved = std::chrono::steady_clock::now();
    ASSERT_TRUE(lab_.in(lab::host_ns("v"), "ip link set eth0 down && ip route add default via " +
                                               lab_.second_link_gateway("v") + " dev eth1"))
        << lab_.errors();
    const auto again = wait_visitor(
        [&](const path_seen& p) { return p.state == "up" && p.punch_id != up.punch_id; }, 20s);
    const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - moved).count();
    std::printf("[ figure   ] visitor moved to another NAT (%s -> %s): direct again after %.2f s\n",
                up.mapped.c_str(), again.mapped.c_str(), took);
    ASSERT_EQ(again.state, "up") << visitor_->log() << home_->log();
    EXPECT_NE(again.mapped, up.mapped) << "seen from the new NAT";
    EXPECT_LT(took, 5.0);
    EXPECT_TRUE(echo_through_visitor()) << visitor_->log();
}

// A transfer through the visitor's port (opened in the visitor's namespace),
// paced at about 12 MiB/s so that what a test does meanwhile lands in the
// middle of it; the echo service sends every byte back.
class paced_transfer {
public:
    static constexpr std::size_t total = 24u << 20, piece = 256u << 10;

    explicit paced_transfer(lab& l) : sent_(total, '\0'), got_(total, '\0') {
        std::uint32_t x = 12345;
        for (auto& c : sent_) c = static_cast<char>((x = x * 1103515245u + 12345u) >> 24);
        l.on_thread_in(lab::host_ns("v"), [&] {
            fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
            sockaddr_in to{};
            to.sin_family = AF_INET;
            to.sin_port = htons(6000);
            to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            if (::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
                ::close(fd_);
                fd_ = -1;
            }
        });
        if (fd_ < 0) return;
        timeval limit{40, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
        reader_ = std::thread([this] {
            while (received_ < total) {
                const auto n = ::read(fd_, got_.data() + received_, total - received_);
                if (n <= 0) return;
                received_ += static_cast<std::size_t>(n);
            }
        });
        writer_ = std::thread([this] {
            for (std::size_t at = 0; at < total; at += piece) {
                if (::send(fd_, sent_.data() + at, piece, MSG_NOSIGNAL) != static_cast<ssize_t>(piece))
                    return;
                std::this_thread::sleep_for(20ms);
            }
        });
    }
    ~paced_transfer() {
        finish();
        if (fd_ >= 0) ::close(fd_);
    }
    bool opened() const { return fd_ >= 0; }
    // Waits until `bytes` came back (10 s at most).
    bool wait_for(std::size_t bytes) const {
        const auto until = std::chrono::steady_clock::now() + 10s;
        while (received_ < bytes && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(5ms);
        return received_ >= bytes;
    }
    void finish() {
        if (writer_.joinable()) writer_.join();
        if (reader_.joinable()) reader_.join();
    }
    std::size_t received() const { return received_; }
    bool intact() const { return received_ == total && got_ == sent_; }

private:
    int fd_ = -1;
    std::string sent_, got_;
    std::atomic<std::size_t> received_{0};
    std::thread reader_, writer_;
};

// The visitor's session list in status --json names this path for the first session.
bool first_session_on(const std::string& status, const std::string& path) {
    const std::regex session("\"sessions\":\\[\\{[^}]*\"path\":\"" + path + "\",\"state\":\"open\"");
    return std::regex_search(status, session);
}

// During a transfer in an open session on the direct path, the visitor moves
// to another NAT: the session waits detached, the new direct path comes up,
// the session re-attaches there, and every byte arrives, in order.
TEST_F(punch_pair, a_transfer_survives_the_visitor_roaming_and_goes_direct_again) {
    start_pair(nat_kind::port_restricted, nat_kind::port_restricted, "", true);
    EXPECT_TRUE(echo_through_visitor());
    const auto up = wait_visitor(settled);
    ASSERT_EQ(up.state, "up") << visitor_->log();
    ASSERT_EQ(wait_visitor([](const path_seen& p) { return p.quic == "up"; }, 10s).quic, "up");
    paced_transfer t(lab_);
    ASSERT_TRUE(t.opened());
    ASSERT_TRUE(t.wait_for(4u << 20)) << visitor_->log() << home_->log();
    const auto moved = std::chrono::steady_clock::now();
    ASSERT_TRUE(lab_.in(lab::host_ns("v"), "ip link set eth0 down && ip route add default via " +
                                               lab_.second_link_gateway("v") + " dev eth1"))
        << lab_.errors();
    // The session is on a direct path again: a new punch, the session open on p2p.
    const double took = seconds_until(
        moved,
        [&](const std::string& status) {
            const auto p = first_path(status);
            return p.punch_id != up.punch_id && p.quic == "up" && first_session_on(status, "p2p");
        },
        20s);
    t.finish();
    std::printf("[ figure   ] roaming mid-transfer: the session was on p2p again %.2f s after the "
                "move; %zu of %zu bytes back\n",
                took, t.received(), paced_transfer::total);
    EXPECT_GE(took, 0.0) << visitor_->log() << home_->log();
    EXPECT_LT(took, 5.0);
    EXPECT_TRUE(t.intact()) << visitor_->log() << home_->log();
    EXPECT_TRUE(visitor_->wait_log(R"(\[home-ssh/\d+\] detached)", 1s)) << visitor_->log();
}

// The first connection of a p2p visitor starts the punch and runs on the
// relay; once the direct path is up the open session moves onto it, mid-
// transfer, and every byte arrives.
TEST_F(punch_pair, an_open_relayed_session_moves_onto_the_direct_path_without_losing_a_byte) {
    start_pair(nat_kind::port_restricted, nat_kind::port_restricted);
    const auto first = std::chrono::steady_clock::now();
    paced_transfer t(lab_);
    ASSERT_TRUE(t.opened());
    const double took = seconds_until(
        first, [](const std::string& status) { return first_session_on(status, "p2p"); }, 20s);
    const auto moved_at = t.received();
    t.finish();
    std::printf("[ figure   ] an open relayed session was on p2p %.2f s after it began (%zu bytes "
                "back by then); %zu of %zu bytes back in all\n",
                took, moved_at, t.received(), paced_transfer::total);
    EXPECT_GE(took, 0.0) << visitor_->log() << home_->log();
    EXPECT_LT(moved_at, paced_transfer::total) << "the move happened mid-transfer";
    EXPECT_TRUE(t.intact()) << visitor_->log() << home_->log();
    EXPECT_TRUE(visitor_->wait_log(R"(\[home-ssh/1\] moves onto the direct path)", 1s)) << visitor_->log();
    EXPECT_TRUE(visitor_->wait_log(R"(\[home-ssh/1\] connected to ssh-secret of client home .*relayed)", 1s))
        << visitor_->log();
    // The server let go of the relayed visit as it moved (SessionMoved), not
    // resume_timeout later; nothing was counted as aborted.
    EXPECT_TRUE(server_->wait_log(R"(visit moved to a direct path: \d+ B to the service)", 2s))
        << server_->log();
    EXPECT_EQ(server_->count_log("visit aborted"), 0) << server_->log();
}

// A real sshd behind the home client, reached with ssh through the visitor's
// port over the direct path: 8 MiB of a file come back byte for byte.
TEST_F(punch_pair, ssh_through_the_direct_path_to_a_real_sshd) {
    std::unique_ptr<e2e::ssh_peer> peer;
    start_pair(nat_kind::port_restricted, nat_kind::port_restricted, "", false, [&] {
        peer = std::make_unique<e2e::ssh_peer>(
            [this](std::vector<std::string> argv) { return lab_.exec_in(lab::host_ns("h"), argv); });
        return peer->port();
    });
    ASSERT_TRUE(peer && peer->ready()) << (peer ? peer->log() : "");
    auto& sshd = *peer;
    std::string data(8u << 20, '\0');
    std::uint32_t x = 99;
    for (auto& c : data) c = static_cast<char>((x = x * 1103515245u + 12345u) >> 24);
    write_text(dir_.file("payload"), data);
    // The first connection starts the punch (and may move onto the path).
    auto first = e2e::run(lab_.exec_in(lab::host_ns("v"), sshd.ssh(6000, "echo first")), 30s);
    EXPECT_EQ(first.output, "first\n") << visitor_->log();
    ASSERT_EQ(wait_visitor([](const path_seen& p) { return p.quic == "up"; }, 20s).quic, "up")
        << visitor_->log() << home_->log();
    const auto r = e2e::run(lab_.exec_in(lab::host_ns("v"), sshd.ssh(6000, "cat " + dir_.file("payload"))), 60s);
    EXPECT_EQ(r.code, 0) << r.output.substr(0, 300);
    EXPECT_TRUE(r.output == data) << "got " << r.output.size() << " bytes";
    EXPECT_TRUE(visitor_->wait_log(R"(\[home-ssh/\d+\] connected to ssh-secret of client home .*direct \(p2p\))", 1s))
        << visitor_->log();
}

// The direct path's packets are dropped mid-transfer, and no new path can be
// punched: the session goes on over the relay 2 s later and finishes intact.
TEST_F(punch_pair, a_transfer_whose_direct_path_dies_finishes_over_the_relay) {
    start_pair(nat_kind::port_restricted, nat_kind::port_restricted, "[p2p]\nkeepalive = 1\n");
    EXPECT_TRUE(echo_through_visitor());
    const auto up = wait_visitor(settled);
    ASSERT_EQ(up.state, "up") << visitor_->log();
    ASSERT_EQ(wait_visitor([](const path_seen& p) { return p.quic == "up"; }, 10s).quic, "up");
    paced_transfer t(lab_);
    ASSERT_TRUE(t.opened());
    ASSERT_TRUE(t.wait_for(4u << 20)) << visitor_->log() << home_->log();
    const auto peer_ip = up.peer_addr.substr(0, up.peer_addr.rfind(':'));
    ASSERT_TRUE(lab_.in(lab::host_ns("v"),
                        "nft add table inet cut && nft add chain inet cut out "
                        "'{ type filter hook output priority 0; }' && nft add rule inet cut out "
                        "ip daddr " + peer_ip + " udp dport 1-65535 drop"))
        << lab_.errors();
    const auto cut = std::chrono::steady_clock::now();
    const double took = seconds_until(
        cut, [](const std::string& status) { return first_session_on(status, "relay"); }, 30s);
    t.finish();
    std::printf("[ figure   ] direct path cut mid-transfer: on the relay %.2f s later; %zu of %zu "
                "bytes back\n",
                took, t.received(), paced_transfer::total);
    EXPECT_GE(took, 0.0) << visitor_->log() << home_->log() << server_->log();
    EXPECT_TRUE(t.intact()) << visitor_->log() << home_->log() << server_->log();
    EXPECT_TRUE(visitor_->wait_log("goes on over the relay", 1s)) << visitor_->log();
    EXPECT_TRUE(home_->wait_log(R"(direct session \[ssh-secret/p2p-\d+\] goes on over the relay)", 1s))
        << home_->log();
}

INSTANTIATE_TEST_SUITE_P(
    natlab, punch_matrix,
    ::testing::Values(punch_case{nat_kind::port_restricted, nat_kind::port_restricted, true},
                      punch_case{nat_kind::full_cone, nat_kind::symmetric, true},
                      punch_case{nat_kind::symmetric, nat_kind::restricted_cone, true},
                      punch_case{nat_kind::port_restricted, nat_kind::symmetric, true, true},
                      punch_case{nat_kind::symmetric, nat_kind::port_restricted, true, true},
                      punch_case{nat_kind::symmetric, nat_kind::symmetric, false}),
    [](const ::testing::TestParamInfo<punch_case>& i) {
        return std::string(to_string(i.param.visitor)) + "_to_" + to_string(i.param.home);
    });

}  // namespace
}  // namespace burrow::natlab
