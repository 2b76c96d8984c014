// The NAT lab behaves as ../shared/NATLAB.md's table says, shown with plain
// UDP sockets and no burrow code: a reflector in the server namespace tells
// a host behind each kind of NAT which ip:port it saw, and answers from its
// other port or its other address when asked, to show what the NAT lets in.
// Root only (network namespaces); everything is bounded by receive timeouts.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tests/e2e/harness.hpp"
#include "tests/natlab/lab.hpp"

namespace burrow::natlab {

void PrintTo(nat_kind kind, std::ostream* os) { *os << to_string(kind); }

namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

std::string text_of(const sockaddr_in& a) {
    char ip[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
    return std::string(ip) + ":" + std::to_string(ntohs(a.sin_port));
}

std::uint16_t port_of(const std::string& ip_port) {
    return static_cast<std::uint16_t>(std::stoi(ip_port.substr(ip_port.rfind(':') + 1)));
}

struct datagram {
    std::string text;
    std::string from;  // ip:port
};

// A UDP socket bound to addr:0 inside a lab namespace; closed at destruction.
class udp_socket {
public:
    udp_socket(lab& l, const std::string& ns, const std::string& addr = "0.0.0.0") {
        l.on_thread_in(ns, [&] {
            fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            sockaddr_in a{};
            a.sin_family = AF_INET;
            ::inet_pton(AF_INET, addr.c_str(), &a.sin_addr);
            if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
                ::close(fd_);
                fd_ = -1;
            }
        });
    }
    ~udp_socket() {
        if (fd_ >= 0) ::close(fd_);
    }
    udp_socket(const udp_socket&) = delete;
    udp_socket& operator=(const udp_socket&) = delete;

    bool ok() const { return fd_ >= 0; }
    int fd() const { return fd_; }
    std::uint16_t port() const { return e2e::local_port(fd_); }

    bool send_to(const std::string& ip, std::uint16_t port, const std::string& text) const {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
        return ::sendto(fd_, text.data(), text.size(), 0, reinterpret_cast<sockaddr*>(&a),
                        sizeof a) == static_cast<ssize_t>(text.size());
    }
    // The next datagram within `timeout`; nullopt on silence.
    std::optional<datagram> receive(milliseconds timeout) const {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
        char buf[512];
        sockaddr_in from{};
        socklen_t len = sizeof from;
        const auto n =
            ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 0) return std::nullopt;
        return datagram{std::string(buf, static_cast<std::size_t>(n)), text_of(from)};
    }
    // Sends `text` to the server's `port` and waits (2 s at most) for an answer.
    std::optional<datagram> ask(const std::string& text, std::uint16_t port) const {
        if (!send_to(lab::server_addr(), port, text)) return std::nullopt;
        return receive(2s);
    }

private:
    int fd_ = -1;
};

// In the server namespace: sockets on two ephemeral ports of server_addr()
// and one on server_alt_addr(). Each datagram is answered with the source
// ip:port it came from, as text: from the socket it came to, or from the
// other port when it says "other", or from the other address when it says
// "alt". Its thread runs from construction to destruction.
class reflector {
public:
    explicit reflector(lab& l)
        : a_(l, lab::server_ns(), lab::server_addr()),
          b_(l, lab::server_ns(), lab::server_addr()),
          alt_(l, lab::server_ns(), lab::server_alt_addr()),
          wake_(::eventfd(0, EFD_CLOEXEC)) {
        if (ready()) thread_ = std::thread([this] { run(); });
    }
    ~reflector() {
        if (thread_.joinable()) {
            const std::uint64_t one = 1;
            [[maybe_unused]] const auto n = ::write(wake_, &one, sizeof one);
            thread_.join();
        }
        if (wake_ >= 0) ::close(wake_);
    }
    reflector(const reflector&) = delete;
    reflector& operator=(const reflector&) = delete;

    bool ready() const { return a_.ok() && b_.ok() && alt_.ok() && wake_ >= 0; }
    std::uint16_t port_a() const { return a_.port(); }
    std::uint16_t port_b() const { return b_.port(); }
    std::string alt_endpoint() const {
        return lab::server_alt_addr() + ":" + std::to_string(alt_.port());
    }
    int answered() const { return answered_.load(); }

private:
    void run() {
        pollfd fds[4] = {{a_.fd(), POLLIN, 0}, {b_.fd(), POLLIN, 0}, {alt_.fd(), POLLIN, 0},
                         {wake_, POLLIN, 0}};
        const udp_socket* other[3] = {&b_, &a_, &a_};
        for (;;) {
            if (::poll(fds, 4, -1) < 0 || (fds[3].revents & POLLIN) != 0) return;
            for (int i = 0; i < 3; ++i) {
                if ((fds[i].revents & POLLIN) == 0) continue;
                char buf[512];
                sockaddr_in from{};
                socklen_t len = sizeof from;
                const auto n = ::recvfrom(fds[i].fd, buf, sizeof buf, 0,
                                          reinterpret_cast<sockaddr*>(&from), &len);
                if (n < 0) continue;
                const std::string ask(buf, static_cast<std::size_t>(n));
                const int out = ask == "other" ? other[i]->fd()
                                : ask == "alt"   ? alt_.fd()
                                                 : fds[i].fd;
                const auto seen = text_of(from);
                ::sendto(out, seen.data(), seen.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
                ++answered_;
            }
        }
    }

    udp_socket a_, b_, alt_;
    int wake_;
    std::atomic<int> answered_{0};
    std::thread thread_;
};

// A lab with the given sites and a reflector; both go when the test ends.
class lab_fixture : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "network namespaces need root";
    }

    void build(const std::vector<std::pair<std::string, nat_kind>>& sites) {
        lab_.emplace();
        for (const auto& [site, kind] : sites) lab_->add_site(site, kind);
        ASSERT_TRUE(lab_->ready()) << lab_->errors();
        reflector_.emplace(*lab_);
        ASSERT_TRUE(reflector_->ready());
    }
    std::string server(std::uint16_t port) const {
        return lab::server_addr() + ":" + std::to_string(port);
    }

    std::optional<lab> lab_;
    std::optional<reflector> reflector_;  // destroyed before the lab
};

// NATLAB.md's table, row by row.
struct expected {
    bool translated;                // the server sees the router's WAN address
    bool new_port_per_destination;  // else the source port is kept for every destination
    bool other_port_gets_in;        // an answer from a port the host never sent to
    bool other_address_gets_in;     // ... from an address it never sent to
};

expected natlab_table(nat_kind kind) {
    switch (kind) {
    case nat_kind::none: return {false, false, false, false};  // a stateful firewall
    case nat_kind::port_restricted: return {true, false, false, false};
    case nat_kind::symmetric: return {true, true, false, false};
    case nat_kind::full_cone: return {true, false, true, true};
    case nat_kind::restricted_cone: return {true, false, true, false};
    }
    return {};
}

// One site "a" of the kind under test.
class nat_behaviour : public lab_fixture, public ::testing::WithParamInterface<nat_kind> {
protected:
    void SetUp() override {
        lab_fixture::SetUp();
        if (IsSkipped()) return;
        build({{"a", GetParam()}});
    }
    const expected want_ = natlab_table(GetParam());
};

TEST_P(nat_behaviour, maps_one_socket_to_the_server_s_two_ports_as_natlab_says) {
    udp_socket s(*lab_, lab::host_ns("a"));
    ASSERT_TRUE(s.ok());
    const auto to_a = s.ask("addr", reflector_->port_a());
    const auto to_b = s.ask("addr", reflector_->port_b());
    ASSERT_TRUE(to_a && to_b);
    EXPECT_EQ(to_a->from, server(reflector_->port_a()));
    EXPECT_EQ(to_b->from, server(reflector_->port_b()));
    const auto public_ip = want_.translated ? lab_->wan_addr("a") : lab_->host_addr("a");
    EXPECT_EQ(to_a->text.substr(0, to_a->text.rfind(':')), public_ip);
    EXPECT_EQ(to_b->text.substr(0, to_b->text.rfind(':')), public_ip);
    if (want_.new_port_per_destination) {
        EXPECT_NE(port_of(to_a->text), port_of(to_b->text));
    } else {
        EXPECT_EQ(to_a->text, to_b->text);
        EXPECT_EQ(port_of(to_a->text), s.port()) << "the source port is kept";
    }
}

// Also NATLAB.md's pitfall: the unsolicited packet from the other port must
// not take the mapping's port, so the host's own later packet to that port
// still leaves from the mapped port (except symmetric: a new one anyway).
TEST_P(nat_behaviour, filters_an_answer_from_another_port_as_natlab_says) {
    udp_socket s(*lab_, lab::host_ns("a"));
    ASSERT_TRUE(s.ok());
    const auto mapped = s.ask("addr", reflector_->port_a());
    ASSERT_TRUE(mapped);
    ASSERT_TRUE(s.send_to(lab::server_addr(), reflector_->port_a(), "other"));
    const auto answer = s.receive(want_.other_port_gets_in ? 2s : 1s);
    if (want_.other_port_gets_in) {
        ASSERT_TRUE(answer) << "no answer from the other port";
        EXPECT_EQ(answer->from, server(reflector_->port_b()));
        EXPECT_EQ(answer->text, mapped->text);
    } else {
        EXPECT_FALSE(answer) << "came in: " << answer->text << " from " << answer->from;
        EXPECT_EQ(reflector_->answered(), 2) << "the reflector did answer";
    }
    const auto to_b = s.ask("addr", reflector_->port_b());
    ASSERT_TRUE(to_b);
    EXPECT_EQ(to_b->from, server(reflector_->port_b()));
    if (!want_.new_port_per_destination) {
        EXPECT_EQ(to_b->text, mapped->text) << "the unsolicited packet took the mapped port";
    }
}

TEST_P(nat_behaviour, filters_a_packet_from_another_address_as_natlab_says) {
    udp_socket s(*lab_, lab::host_ns("a"));
    ASSERT_TRUE(s.ok());
    const auto mapped = s.ask("addr", reflector_->port_a());
    ASSERT_TRUE(mapped);
    ASSERT_TRUE(s.send_to(lab::server_addr(), reflector_->port_a(), "alt"));
    const auto answer = s.receive(want_.other_address_gets_in ? 2s : 1s);
    if (want_.other_address_gets_in) {
        ASSERT_TRUE(answer) << "nothing from " << reflector_->alt_endpoint();
        EXPECT_EQ(answer->from, reflector_->alt_endpoint());
        EXPECT_EQ(answer->text, mapped->text);
    } else {
        EXPECT_FALSE(answer) << "came in: " << answer->text << " from " << answer->from;
        EXPECT_EQ(reflector_->answered(), 2) << "the reflector did answer";
    }
}

INSTANTIATE_TEST_SUITE_P(natlab, nat_behaviour,
                         ::testing::Values(nat_kind::none, nat_kind::port_restricted,
                                           nat_kind::symmetric, nat_kind::full_cone,
                                           nat_kind::restricted_cone),
                         [](const ::testing::TestParamInfo<nat_kind>& kind) {
                             return std::string(to_string(kind.param));
                         });

// Sites reach each other through the internet: a host behind a port-
// restricted NAT sends to the mapped address of a full-cone host, which
// never contacted it, and of a restricted-cone host, which only talked to the server.
TEST_F(lab_fixture, a_host_of_another_site_gets_into_a_full_cone_but_not_a_restricted_cone) {
    ASSERT_NO_FATAL_FAILURE(build({{"full", nat_kind::full_cone},
                                   {"restr", nat_kind::restricted_cone},
                                   {"sender", nat_kind::port_restricted}}));
    udp_socket full(*lab_, lab::host_ns("full")), restr(*lab_, lab::host_ns("restr")),
        sender(*lab_, lab::host_ns("sender"));
    ASSERT_TRUE(full.ok() && restr.ok() && sender.ok());
    const auto full_mapped = full.ask("addr", reflector_->port_a());
    const auto restr_mapped = restr.ask("addr", reflector_->port_a());
    ASSERT_TRUE(full_mapped && restr_mapped);

    ASSERT_TRUE(sender.send_to(lab_->wan_addr("full"), port_of(full_mapped->text), "knock"));
    const auto got = full.receive(2s);
    ASSERT_TRUE(got) << "the full-cone host heard nothing";
    EXPECT_EQ(got->text, "knock");
    EXPECT_EQ(got->from, lab_->wan_addr("sender") + ":" + std::to_string(sender.port()));

    ASSERT_TRUE(sender.send_to(lab_->wan_addr("restr"), port_of(restr_mapped->text), "knock"));
    const auto silence = restr.receive(1s);
    EXPECT_FALSE(silence) << "came in: " << silence->text << " from " << silence->from;
}

// The internet routes (it is no bridge): a packet sent with TTL 2 dies in
// the internet namespace, after the host's router; with TTL 3 it arrives.
TEST_F(lab_fixture, the_internet_routes_so_a_packet_with_ttl_2_dies_before_the_server) {
    ASSERT_NO_FATAL_FAILURE(build({{"a", nat_kind::port_restricted}}));
    udp_socket s(*lab_, lab::host_ns("a"));
    ASSERT_TRUE(s.ok());
    int ttl = 2;
    ASSERT_EQ(::setsockopt(s.fd(), IPPROTO_IP, IP_TTL, &ttl, sizeof ttl), 0);
    const auto lost = s.ask("addr", reflector_->port_a());
    EXPECT_FALSE(lost);
    EXPECT_EQ(reflector_->answered(), 0);
    ttl = 3;
    ASSERT_EQ(::setsockopt(s.fd(), IPPROTO_IP, IP_TTL, &ttl, sizeof ttl), 0);
    EXPECT_TRUE(s.ask("addr", reflector_->port_a()));
}

// A host with a second link through another site's NAT: moving its default
// route there (Wi-Fi -> 4G) gives it that NAT's public address.
TEST_F(lab_fixture, a_host_moved_to_its_second_link_leaves_through_the_other_nat) {
    ASSERT_NO_FATAL_FAILURE(
        build({{"home", nat_kind::port_restricted}, {"mobile", nat_kind::symmetric}}));
    ASSERT_TRUE(lab_->add_second_link("home", "mobile")) << lab_->errors();
    udp_socket s(*lab_, lab::host_ns("home"));
    ASSERT_TRUE(s.ok());
    const auto before = s.ask("addr", reflector_->port_a());
    ASSERT_TRUE(before);
    EXPECT_EQ(before->text.substr(0, before->text.rfind(':')), lab_->wan_addr("home"));
    ASSERT_TRUE(lab_->in(lab::host_ns("home"), "ip route replace default via " +
                                                   lab_->second_link_gateway("home") + " dev eth1"))
        << lab_->errors();
    const auto after = s.ask("addr", reflector_->port_a());
    ASSERT_TRUE(after);
    EXPECT_EQ(after->text.substr(0, after->text.rfind(':')), lab_->wan_addr("mobile"));
}

// set_udp_timeouts shortens the router's conntrack UDP timeouts (the entry
// a host makes starts at most at that timeout); flush_conntrack empties it.
TEST_F(lab_fixture, udp_timeouts_and_conntrack_flush_act_on_the_site_s_router) {
    ASSERT_NO_FATAL_FAILURE(build({{"a", nat_kind::port_restricted}}));
    ASSERT_TRUE(lab_->set_udp_timeouts("a", 7)) << lab_->errors();
    const auto router = lab::router_ns("a");
    EXPECT_TRUE(lab_->in(router,
                         "test $(sysctl -n net.netfilter.nf_conntrack_udp_timeout) = 7 && "
                         "test $(sysctl -n net.netfilter.nf_conntrack_udp_timeout_stream) = 7"))
        << lab_->errors();
    udp_socket s(*lab_, lab::host_ns("a"));
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(s.ask("addr", reflector_->port_a()));
    // conntrack -L: "udp 17 <seconds left> src=... dport=<port> ..."
    const auto entry = "conntrack -L -p udp --dport " + std::to_string(reflector_->port_a()) +
                       " 2>/dev/null";
    EXPECT_TRUE(lab_->in(router, entry + " | grep -q " + lab::server_addr())) << lab_->errors();
    EXPECT_TRUE(
        lab_->in(router, entry + " | awk '{ n++; if ($3 > 7) bad = 1 } END { exit bad || !n }'"))
        << lab_->errors();
    ASSERT_TRUE(lab_->flush_conntrack("a")) << lab_->errors();
    EXPECT_TRUE(lab_->in(router, "! { " + entry + " | grep -q " + lab::server_addr() + "; }"))
        << lab_->errors();
}

bool exists(const std::string& path) { return std::filesystem::exists(path); }

// Namespaces of this process ("bw<pid>-...").
std::vector<std::string> own_namespaces() {
    std::vector<std::string> found;
    const auto prefix = "bw" + std::to_string(::getpid()) + "-";
    std::error_code e;
    for (const auto& entry : std::filesystem::directory_iterator("/run/netns", e)) {
        const auto name = entry.path().filename().string();
        if (name.rfind(prefix, 0) == 0) found.push_back(name);
    }
    return found;
}

// A run killed before its destructors ran left "bw<its pid>-..." behind: the
// next lab removes it. A lab removes every namespace it made.
TEST(natlab_cleanup, a_killed_run_s_namespaces_go_and_a_lab_leaves_none_behind) {
    if (geteuid() != 0) GTEST_SKIP() << "network namespaces need root";
    const pid_t dead = ::fork();
    if (dead == 0) ::_exit(0);
    ASSERT_GT(dead, 0);
    ASSERT_EQ(::waitpid(dead, nullptr, 0), dead);
    const auto stale = "bw" + std::to_string(dead) + "-stale";
    ASSERT_EQ(e2e::run({e2e::netns_set::ip, "netns", "add", stale}).code, 0);
    {
        lab l;
        EXPECT_FALSE(exists("/run/netns/" + stale));
        EXPECT_TRUE(l.add_site("a", nat_kind::full_cone)) << l.errors();
        EXPECT_TRUE(l.ready()) << l.errors();
        EXPECT_EQ(own_namespaces().size(), 4u);  // net, srv, r-a, h-a
    }
    EXPECT_TRUE(own_namespaces().empty());
    if (exists("/run/netns/" + stale)) e2e::run({e2e::netns_set::ip, "netns", "del", stale});
}

}  // namespace
}  // namespace burrow::natlab
