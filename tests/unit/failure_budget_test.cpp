#include "server/failure_budget.hpp"

#include <gtest/gtest.h>

namespace burrow {
namespace {

using namespace std::chrono_literals;
using clock = failure_budget::clock;

const auto a = boost::asio::ip::make_address("192.0.2.1");
const auto b = boost::asio::ip::make_address("192.0.2.2");

TEST(failure_budget, an_address_past_its_failures_waits_for_the_end_of_its_window) {
    failure_budget budget({3, 60s, 100});
    const auto t0 = clock::now();
    for (int i = 0; i < 2; ++i) budget.failed(a, t0 + std::chrono::seconds(i));
    EXPECT_EQ(budget.blocked_for(a, t0 + 2s).count(), 0);
    budget.failed(a, t0 + 10s);
    EXPECT_EQ(budget.blocked_for(a, t0 + 10s).count(), 50);  // the window began at t0
    EXPECT_EQ(budget.blocked_for(b, t0 + 10s).count(), 0);   // only that address
    EXPECT_EQ(budget.blocked_for(a, t0 + 59s).count(), 1);
    EXPECT_EQ(budget.blocked_for(a, t0 + 60s).count(), 0);   // a new window
    budget.failed(a, t0 + 61s);
    EXPECT_EQ(budget.blocked_for(a, t0 + 61s).count(), 0);   // counting from 1 again
}

TEST(failure_budget, a_success_forgives_and_zero_means_no_limit) {
    failure_budget budget({2, 60s, 100});
    const auto t0 = clock::now();
    budget.failed(a, t0);
    budget.failed(a, t0);
    EXPECT_GT(budget.blocked_for(a, t0).count(), 0);
    budget.forgive(a);
    EXPECT_EQ(budget.blocked_for(a, t0).count(), 0);
    budget.failed(a, t0);
    budget.failed(a, t0);
    budget.set_failures(0);  // a reload lifts the limit
    EXPECT_EQ(budget.blocked_for(a, t0).count(), 0);
    budget.set_failures(2);  // the counts so far stay
    EXPECT_GT(budget.blocked_for(a, t0).count(), 0);
}

TEST(failure_budget, a_flood_from_many_addresses_stays_bounded_and_forgets_old_windows_first) {
    failure_budget budget({1, 60s, 4});
    const auto t0 = clock::now();
    budget.failed(a, t0);  // the oldest window
    for (int i = 3; i < 6; ++i)
        budget.failed(boost::asio::ip::make_address("192.0.2." + std::to_string(i)), t0 + 30s);
    EXPECT_GT(budget.blocked_for(a, t0 + 30s).count(), 0);
    // A fifth address: the table is full of fresh windows, so the oldest goes.
    budget.failed(b, t0 + 31s);
    EXPECT_GT(budget.blocked_for(b, t0 + 31s).count(), 0);
    EXPECT_EQ(budget.blocked_for(a, t0 + 31s).count(), 0);
    EXPECT_GT(budget.blocked_for(boost::asio::ip::make_address("192.0.2.3"), t0 + 31s).count(), 0);
}

}  // namespace
}  // namespace burrow
