#include "server/rendezvous/answer_budget.hpp"

#include <gtest/gtest.h>

namespace burrow {
namespace {

using namespace std::chrono_literals;
using boost::asio::ip::make_address;

answer_budget::limits small() {
    answer_budget::limits l;
    l.per_source = 10;
    l.total = 100;
    l.max_sources = 4;
    return l;
}

int answers(answer_budget& b, const char* source, int asks, answer_budget::clock::time_point at) {
    int n = 0;
    for (int i = 0; i < asks; ++i) n += b.take(make_address(source), at);
    return n;
}

TEST(answer_budget, one_source_gets_a_burst_of_twice_its_rate_then_its_rate) {
    answer_budget b(small());
    const answer_budget::clock::time_point t0{1h};
    EXPECT_EQ(answers(b, "192.0.2.1", 1000, t0), 20);
    EXPECT_EQ(answers(b, "192.0.2.1", 1000, t0 + 500ms), 5);
    EXPECT_EQ(answers(b, "192.0.2.1", 1000, t0 + 1500ms), 10);
}

TEST(answer_budget, a_flooding_source_does_not_cost_another_its_answers) {
    answer_budget b(small());
    const answer_budget::clock::time_point t0{1h};
    EXPECT_EQ(answers(b, "192.0.2.1", 1000, t0), 20);
    EXPECT_EQ(answers(b, "198.51.100.7", 3, t0), 3);
}

TEST(answer_budget, all_sources_together_get_no_more_than_the_total) {
    answer_budget::limits l = small();
    l.max_sources = 1000;
    answer_budget b(l);
    const answer_budget::clock::time_point t0{1h};
    int n = 0;
    // 500 forged sources, 20 asks each, in one instant.
    for (int i = 0; i < 500; ++i) {
        const auto source = (i < 250 ? "203.0.113." : "198.51.100.") + std::to_string(i % 250);
        n += answers(b, source.c_str(), 20, t0);
    }
    EXPECT_EQ(n, 100);
    // A second later the total has refilled, not more.
    EXPECT_EQ(answers(b, "192.0.2.200", 1, t0 + 1s), 1);
}

TEST(answer_budget, the_table_of_sources_stays_bounded_and_forgets_idle_ones) {
    answer_budget b(small());
    const answer_budget::clock::time_point t0{1h};
    for (int i = 0; i < 50; ++i)
        EXPECT_TRUE(b.take(make_address("203.0.113." + std::to_string(i)), t0));
    EXPECT_LE(b.sources(), 4u);
    // Past the table, an address is still answered out of the total, but
    // flooding from it is stopped by the total alone (100), not per source.
    EXPECT_EQ(answers(b, "198.51.100.1", 1000, t0), 100 - 50);
    // Later the idle entries are forgotten and a new address gets a place.
    EXPECT_TRUE(b.take(make_address("198.51.100.2"), t0 + 10s));
    EXPECT_LE(b.sources(), 4u);
    EXPECT_EQ(answers(b, "198.51.100.2", 1000, t0 + 10s), 19);
}

}  // namespace
}  // namespace burrow
