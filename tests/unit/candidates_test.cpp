#include "common/p2p/candidates.hpp"

#include <gtest/gtest.h>

namespace burrow::p2p {
namespace {

using boost::asio::ip::make_address;

udp_endpoint ep(const char* ip, unsigned short port) { return {make_address(ip), port}; }

TEST(candidates, parse_takes_addresses_and_ports_only) {
    EXPECT_EQ(parse("198.51.100.2:40000"), ep("198.51.100.2", 40000));
    EXPECT_EQ(parse("[2001:db8::1]:443"), ep("2001:db8::1", 443));
    for (const char* bad : {"", ":", "198.51.100.2", "198.51.100.2:", "198.51.100.2:0",
                            "198.51.100.2:65536", "198.51.100.2:12a", "198.51.100.2:-1",
                            "2001:db8::1:443", "[198.51.100.2]:1", "nas.example.com:22",
                            "198.51.100.2: 22", "[2001:db8::1]", "1.2.3.4.5:6"})
        EXPECT_FALSE(parse(bad)) << bad;
    EXPECT_FALSE(parse(std::string(100, '1') + ":1"));
    EXPECT_EQ(format(ep("2001:db8::1", 443)), "[2001:db8::1]:443");
    EXPECT_EQ(format(ep("203.0.113.7", 9)), "203.0.113.7:9");
}

TEST(candidates, ours_put_the_mapped_address_first_and_skip_what_cannot_work) {
    const auto got = order(ep("203.0.113.70", 50000),
                           {make_address("127.0.0.1"), make_address("198.51.100.2"),
                            make_address("169.254.3.4"), make_address("2001:db8::2"),
                            make_address("198.51.100.2"), make_address("192.0.2.5")},
                           40000);
    const std::vector<udp_endpoint> want{ep("203.0.113.70", 50000), ep("198.51.100.2", 40000),
                                         ep("192.0.2.5", 40000)};
    EXPECT_EQ(got, want);
    // Without a mapped address (the rendezvous did not answer): local ones only.
    EXPECT_EQ(order(std::nullopt, {make_address("198.51.100.2")}, 1).size(), 1u);
}

TEST(candidates, ours_are_bounded) {
    std::vector<boost::asio::ip::address> many;
    for (int i = 1; i < 40; ++i) many.push_back(make_address("198.51.100." + std::to_string(i)));
    EXPECT_EQ(order(ep("203.0.113.70", 1), many, 2).size(), max_candidates);
}

TEST(candidates, a_peers_are_filtered_deduplicated_and_bounded) {
    std::vector<std::string> texts{"203.0.113.9:1000", "junk", "0.0.0.0:5", "224.0.0.1:5",
                                   "127.0.0.1:7", "203.0.113.9:1000", "198.51.100.9:1000"};
    const std::vector<udp_endpoint> want{ep("203.0.113.9", 1000), ep("198.51.100.9", 1000)};
    EXPECT_EQ(accept(texts, false), want);
    EXPECT_EQ(accept(texts, true).size(), 3u) << "loopback kept on a test host";
    std::vector<std::string> flood(1000, "203.0.113.9:1");
    for (int i = 0; i < 1000; ++i) flood.push_back("203.0.113.9:" + std::to_string(i + 2));
    EXPECT_EQ(accept(flood, false).size(), max_candidates);
}

}  // namespace
}  // namespace burrow::p2p
