// A request body's time allowance: what it starts with, what received bytes
// earn, what waiting spends.
#include "server/vhost/body_budget.hpp"

#include <gtest/gtest.h>

namespace burrow::vhost {
namespace {

using namespace std::chrono_literals;

server_config body_config(std::uint32_t timeout, std::uint32_t rate) {
    server_config c;
    c.vhost_body_timeout = timeout;
    c.vhost_body_min_rate = rate;
    return c;
}

TEST(body_budget, starts_with_the_timeout_and_earns_a_second_per_rate_bytes) {
    body_budget b(body_config(20, 500));
    EXPECT_TRUE(b.on);
    EXPECT_EQ(b.left(), 20s);
    b.received = 1000;
    EXPECT_EQ(b.left(), 22s);
    b.waited = 21s;
    EXPECT_EQ(b.left(), 1s);
    b.waited = 23s;
    EXPECT_LT(b.left(), body_budget::clock::duration::zero());
}

TEST(body_budget, no_rate_earns_nothing_and_no_timeout_is_off) {
    body_budget flat(body_config(5, 0));
    flat.received = 1 << 30;
    EXPECT_EQ(flat.left(), 5s);
    EXPECT_FALSE(body_budget(body_config(0, 500)).on);
    EXPECT_FALSE(body_budget().on);
}

}  // namespace
}  // namespace burrow::vhost
