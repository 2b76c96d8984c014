#include "client/p2p/nat_kind.hpp"

#include <gtest/gtest.h>

namespace burrow {
namespace {

udp_endpoint ep(const char* ip, std::uint16_t port) {
    return {boost::asio::ip::make_address(ip), port};
}

nat_observation seen(std::optional<udp_endpoint> mapped, std::optional<udp_endpoint> other,
                     bool other_port_answered) {
    return {ep("198.51.100.2", 40000), mapped, other, other_port_answered};
}

TEST(nat_kind, the_same_mapping_for_both_ports_is_a_cone_told_apart_by_filtering) {
    const auto m = ep("203.0.113.70", 40000);
    const auto cone = classify(seen(m, m, true));
    EXPECT_EQ(cone.kind, nat_kind::cone);
    EXPECT_EQ(cone.mapping, nat_mapping::endpoint_independent);
    EXPECT_FALSE(cone.port_filtered);
    const auto restricted = classify(seen(m, m, false));
    EXPECT_EQ(restricted.kind, nat_kind::port_restricted);
    EXPECT_TRUE(restricted.port_filtered);
}

TEST(nat_kind, a_new_mapping_per_destination_is_symmetric_whatever_the_filtering) {
    for (bool answered : {false, true}) {
        const auto v =
            classify(seen(ep("203.0.113.70", 40000), ep("203.0.113.70", 51234), answered));
        EXPECT_EQ(v.kind, nat_kind::symmetric);
        EXPECT_EQ(v.mapping, nat_mapping::endpoint_dependent);
    }
    // A mapping that keeps the port but changes the address is endpoint-dependent too.
    EXPECT_EQ(classify(seen(ep("203.0.113.70", 40000), ep("203.0.113.71", 40000), false)).kind,
              nat_kind::symmetric);
}

TEST(nat_kind, seen_as_our_own_address_is_no_nat) {
    const auto self = ep("198.51.100.2", 40000);
    const auto open = classify(seen(self, self, true));
    EXPECT_EQ(open.kind, nat_kind::open);
    EXPECT_EQ(open.mapping, nat_mapping::none);
    // Without NAT but behind a firewall that only lets answers in.
    EXPECT_EQ(classify(seen(self, self, false)).kind, nat_kind::port_restricted);
}

TEST(nat_kind, no_answer_is_blocked_and_half_an_answer_is_unknown) {
    EXPECT_EQ(classify(seen(std::nullopt, std::nullopt, false)).kind, nat_kind::blocked);
    const auto half = classify(seen(ep("203.0.113.70", 40000), std::nullopt, false));
    EXPECT_EQ(half.kind, nat_kind::unknown);
    EXPECT_EQ(half.mapping, nat_mapping::unknown);
}

TEST(nat_kind, every_kind_has_words_for_scripts_and_for_people) {
    for (auto k : {nat_kind::open, nat_kind::cone, nat_kind::port_restricted, nat_kind::symmetric,
                   nat_kind::blocked, nat_kind::unknown}) {
        EXPECT_FALSE(to_string(k).empty());
        EXPECT_FALSE(describe(k).empty());
        EXPECT_EQ(advice(k).back(), '.');
    }
    EXPECT_EQ(describe(nat_kind::port_restricted), "port-restricted cone (NAT3)");
    EXPECT_EQ(advice(nat_kind::port_restricted),
              "direct paths work with cone NATs, and with a symmetric NAT on the other side by "
              "probing many of its ports; two symmetric NATs are relayed.");
}

}  // namespace
}  // namespace burrow
