#include "common/p2p/birthday.hpp"

#include <set>

#include <gtest/gtest.h>

namespace burrow::p2p::birthday {
namespace {

TEST(birthday, only_one_symmetric_side_spends_the_budget) {
    EXPECT_EQ(choose(false, false), role::none);  // cone <-> cone: plain punching
    EXPECT_EQ(choose(true, true), role::none);    // symmetric <-> symmetric: the relay
    EXPECT_EQ(choose(true, false), role::hard);
    EXPECT_EQ(choose(false, true), role::easy);
}

TEST(birthday, ports_to_try_are_distinct_and_in_a_new_mappings_range) {
    const auto budget = static_cast<std::size_t>(ports);
    const auto tried = ports_to_try(budget, 42);
    ASSERT_EQ(tried.size(), budget);
    const std::set<std::uint16_t> distinct(tried.begin(), tried.end());
    EXPECT_EQ(distinct.size(), tried.size());
    EXPECT_GE(*distinct.begin(), lowest_port);
    // Another seed, another order; the same seed, the same one.
    EXPECT_NE(ports_to_try(budget, 43), tried);
    EXPECT_EQ(ports_to_try(budget, 42), tried);
    // Asking for more than there are gives each once.
    const auto all = ports_to_try(100000, 7);
    EXPECT_EQ(all.size(), static_cast<std::size_t>(port_range));
    EXPECT_EQ(std::set<std::uint16_t>(all.begin(), all.end()).size(), all.size());
    EXPECT_TRUE(ports_to_try(0, 1).empty());
}

TEST(birthday, the_budget_meets_with_high_odds) {
    EXPECT_GT(odds(sockets, ports), 0.9996);
    EXPECT_LT(odds(sockets, ports), 1.0);
    // Tailscale's figures: 256 ports against 1024 probes, about 98 %.
    EXPECT_NEAR(odds(256, 1024), 0.983, 0.002);
    EXPECT_DOUBLE_EQ(odds(0, ports), 0.0);
    EXPECT_DOUBLE_EQ(odds(sockets, 0), 0.0);
    EXPECT_DOUBLE_EQ(odds(1, port_range), 1.0);
}

}  // namespace
}  // namespace burrow::p2p::birthday
