// The rendezvous (the server's STUN service for direct paths) against real
// peers on loopback: coturn's turnutils_stunclient, `burrow-client nat`, and
// a hostile sender of floods and malformed datagrams.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/e2e/harness.hpp"

namespace burrow::e2e {
namespace {

// The rendezvous' first port, from the server's start-up line.
std::uint16_t rendezvous_port(burrow_lab& lab) {
    const auto p = lab.server().wait_log(R"(rendezvous \(STUN\) on udp 127\.0\.0\.1:(\d+) and)");
    return p ? static_cast<std::uint16_t>(std::stoi(*p)) : 0;
}

// A UDP socket on 127.0.0.1 that sends to one port and counts what comes back.
class udp_peer {
public:
    udp_peer() {
        fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    ~udp_peer() { ::close(fd_); }
    std::uint16_t port() const {
        sockaddr_in a{};
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        return ntohs(a.sin_port);
    }
    void send(std::uint16_t to, const std::vector<std::uint8_t>& packet) const {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(to);
        ::sendto(fd_, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    // Every datagram that arrives until `quiet` passes without one; the
    // ports they came from go to from_ports().
    std::vector<std::vector<std::uint8_t>> receive_until_quiet(milliseconds quiet) {
        std::vector<std::vector<std::uint8_t>> got;
        std::array<std::uint8_t, 2048> buf;
        pollfd p{fd_, POLLIN, 0};
        while (::poll(&p, 1, static_cast<int>(quiet.count())) > 0) {
            sockaddr_in from{};
            socklen_t len = sizeof from;
            const auto n = ::recvfrom(fd_, buf.data(), buf.size(), 0,
                                      reinterpret_cast<sockaddr*>(&from), &len);
            if (n <= 0) continue;
            got.emplace_back(buf.begin(), buf.begin() + n);
            from_ports_.push_back(ntohs(from.sin_port));
        }
        return got;
    }
    const std::vector<std::uint16_t>& from_ports() const { return from_ports_; }

private:
    int fd_ = -1;
    std::vector<std::uint16_t> from_ports_;
};

// A Binding request (RFC 8489): type 0x0001, no attributes, or `extra` ones.
std::vector<std::uint8_t> binding_request(std::uint32_t seq, std::vector<std::uint8_t> extra = {}) {
    std::vector<std::uint8_t> p{0x00, 0x01, 0, static_cast<std::uint8_t>(extra.size()),
                                0x21, 0x12, 0xA4, 0x42};
    for (int i = 0; i < 12; ++i) p.push_back(static_cast<std::uint8_t>(seq >> (8 * (i % 4))));
    p.insert(p.end(), extra.begin(), extra.end());
    return p;
}

TEST(rendezvous, coturns_stun_client_learns_its_address_from_both_ports) {
    burrow_lab lab;
    const auto port = rendezvous_port(lab);
    ASSERT_NE(port, 0) << lab.server().log();
    for (const auto p : {port, static_cast<std::uint16_t>(port + 1)}) {
        const auto r = run({"/usr/bin/turnutils_stunclient", "-p", std::to_string(p), "127.0.0.1"}, 20s);
        EXPECT_EQ(r.code, 0) << r.output;
        // It prints the reflexive address the server saw: ours, on loopback.
        EXPECT_NE(r.output.find("UDP reflexive addr: 127.0.0.1:"), std::string::npos) << r.output;
    }
}

TEST(rendezvous, burrow_client_nat_reports_no_nat_on_loopback) {
    burrow_lab lab;
    write_text(lab.dir().file("nat.toml"), lab.client_config({}));
    const auto r = run({bin("burrow-client"), "nat", "-c", lab.dir().file("nat.toml"), "--json"}, 30s);
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("\"type\":\"open\""), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("\"mapping\":\"none\""), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("\"port_filtered\":false"), std::string::npos) << r.output;
    const auto text = run({bin("burrow-client"), "nat", "-c", lab.dir().file("nat.toml")}, 30s);
    EXPECT_EQ(text.code, 0) << text.output;
    EXPECT_NE(text.output.find("NAT type: no NAT"), std::string::npos) << text.output;
    EXPECT_NE(text.output.find("Direct paths work with every NAT"), std::string::npos) << text.output;
}

TEST(rendezvous, burrow_client_nat_says_when_the_server_has_no_rendezvous) {
    burrow_lab lab(false, "[p2p]\nenable = false\n");
    EXPECT_EQ(lab.server().count_log("rendezvous"), 0) << lab.server().log();
    write_text(lab.dir().file("nat.toml"), lab.client_config({}));
    const auto r = run({bin("burrow-client"), "nat", "-c", lab.dir().file("nat.toml")}, 30s);
    EXPECT_EQ(r.code, 1) << r.output;
    EXPECT_NE(r.output.find("runs no rendezvous ([p2p] enable = false)"), std::string::npos)
        << r.output;
}

// One source that floods gets its burst and then its rate; every answer is
// no larger than its request plus the one address attribute (12 bytes for
// IPv4); and another source is still answered at once.
TEST(rendezvous, a_flood_is_rate_limited_and_never_amplified) {
    burrow_lab lab;
    const auto port = rendezvous_port(lab);
    ASSERT_NE(port, 0);
    udp_peer flooder;
    const auto start = std::chrono::steady_clock::now();
    for (std::uint32_t i = 0; i < 2000; ++i) flooder.send(port, binding_request(i));
    const auto got = flooder.receive_until_quiet(500ms);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // 20 at once, then 10 a second (per source address, and the flood shares
    // 127.0.0.1 with the second peer below only after it has ended).
    EXPECT_GE(got.size(), 20u);
    EXPECT_LE(static_cast<double>(got.size()), 20 + 10 * seconds + 1) << seconds << " s";
    for (const auto& answer : got) EXPECT_LE(answer.size(), 20u + 12u);
    std::printf("[ figure   ] 2000 requests from one source: %zu answered in %.2f s\n", got.size(),
                seconds);
    EXPECT_TRUE(lab.server().wait_log("answers rate-limited", 5s)) << lab.server().log();

    // Once the burst has refilled, the same address is answered again.
    std::this_thread::sleep_for(2s);  // the bucket refilling is the point here
    udp_peer later;
    later.send(port, binding_request(7));
    EXPECT_EQ(later.receive_until_quiet(1s).size(), 1u);
}

// Malformed and unwanted datagrams get no answer; the service keeps
// answering good requests.
TEST(rendezvous, malformed_and_unwanted_datagrams_get_no_answer) {
    burrow_lab lab;
    const auto port = rendezvous_port(lab);
    ASSERT_NE(port, 0);
    udp_peer hostile;
    std::mt19937 rng(5769);
    std::vector<std::vector<std::uint8_t>> bad;
    for (int i = 0; i < 40; ++i) {  // random bytes, some with a STUN header stamped on
        std::vector<std::uint8_t> p(rng() % 120);
        for (auto& b : p) b = static_cast<std::uint8_t>(rng());
        if (i % 2 == 0 && p.size() >= 20) {
            const auto h = binding_request(static_cast<std::uint32_t>(i));
            std::copy(h.begin(), h.begin() + 20, p.begin());
        }
        bad.push_back(p);
    }
    auto truncated = binding_request(1);
    truncated.pop_back();
    bad.push_back(truncated);                                   // shorter than a header
    auto lying = binding_request(2, {0x80, 0x22, 0x00, 0x08});  // an attribute running past the end
    bad.push_back(lying);
    auto response = binding_request(3);
    response[0] = 0x01;  // a success response, not a request
    bad.push_back(response);
    auto indication = binding_request(4);
    indication[1] = 0x11;  // an indication
    bad.push_back(indication);
    // CHANGE-REQUEST for another IP address: the server has one, so it must
    // not answer from it as if it had changed.
    bad.push_back(binding_request(5, {0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04}));
    bad.push_back(std::vector<std::uint8_t>(1400, 0));  // a large datagram of zeros
    for (const auto& p : bad) hostile.send(port, p);
    EXPECT_EQ(hostile.receive_until_quiet(700ms).size(), 0u);

    // CHANGE-REQUEST for the other port: the answer comes from port + 1.
    udp_peer good;
    good.send(port, binding_request(6, {0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x02}));
    const auto answers = good.receive_until_quiet(1s);
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(answers[0][0], 0x01);
    EXPECT_EQ(answers[0][1], 0x01);  // Binding success
    EXPECT_EQ(good.from_ports().at(0), port + 1);
    EXPECT_TRUE(lab.server().running());
}

}  // namespace
}  // namespace burrow::e2e
