#include "common/stream/rate_limit.hpp"

#include <gtest/gtest.h>

namespace burrow::stream {
namespace {

using namespace std::chrono_literals;

TEST(rate_limit, debt_is_paid_back_at_the_rate_and_directions_are_apart) {
    rate_limit limit(1'000'000);  // bytes per second; credit of a tenth: 100000
    const auto t0 = rate_limit::clock::now() + 1s;
    EXPECT_EQ(limit.take(rate_limit::up, 100'000, t0), rate_limit::clock::duration::zero());
    // 50000 bytes of debt: 50 ms.
    const auto wait = limit.take(rate_limit::up, 50'000, t0);
    EXPECT_NEAR(std::chrono::duration<double>(wait).count(), 0.05, 1e-6);
    // The other direction has its own bucket.
    EXPECT_EQ(limit.take(rate_limit::down, 100'000, t0), rate_limit::clock::duration::zero());
    // 50 ms later the debt is paid: what comes next is owed from zero.
    const auto next = limit.take(rate_limit::up, 10'000, t0 + 50ms);
    EXPECT_NEAR(std::chrono::duration<double>(next).count(), 0.01, 1e-6);
}

TEST(rate_limit, an_idle_bucket_saves_no_more_than_its_burst) {
    rate_limit limit(1'000'000);
    const auto t0 = rate_limit::clock::now() + 1h;  // a long idle time
    EXPECT_EQ(limit.take(rate_limit::down, 100'000, t0), rate_limit::clock::duration::zero());
    EXPECT_GT(limit.take(rate_limit::down, 1, t0), rate_limit::clock::duration::zero());
}

TEST(rate_limit, small_rates_still_let_a_whole_read_through) {
    rate_limit limit(1024);  // the smallest limit the config takes
    const auto t0 = rate_limit::clock::now() + 1s;
    EXPECT_EQ(limit.take(rate_limit::up, 16 * 1024, t0), rate_limit::clock::duration::zero());
    const auto wait = limit.take(rate_limit::up, 1024, t0);
    EXPECT_NEAR(std::chrono::duration<double>(wait).count(), 1.0, 1e-6);
}

}  // namespace
}  // namespace burrow::stream
