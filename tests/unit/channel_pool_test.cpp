#include "client/channel_pool.hpp"

#include <gtest/gtest.h>

namespace burrow {
namespace {

TEST(channel_pool, a_new_stream_goes_to_the_connection_with_the_fewest_streams) {
    EXPECT_EQ(pick_lane({{false, 3}, {false, 1}, {false, 2}}), 1u);
    EXPECT_EQ(pick_lane({{false, 0}, {false, 0}}), 0u);  // the first of equals
    EXPECT_EQ(pick_lane({{false, 5}, {false, 5}, {false, 4}}), 2u);
    EXPECT_EQ(pick_lane({{false, 7}}), 0u);
}

TEST(channel_pool, a_failing_connection_gets_nothing_while_another_is_not_failing) {
    // The failing one has no streams left (they broke with it): the fewest,
    // and still not chosen.
    EXPECT_EQ(pick_lane({{true, 0}, {false, 9}}), 1u);
    EXPECT_EQ(pick_lane({{false, 4}, {true, 0}, {false, 3}}), 2u);
    // All failing: the least loaded of them (gRPC fails the call fast, and the
    // caller's own retry finds a connection back).
    EXPECT_EQ(pick_lane({{true, 2}, {true, 1}}), 1u);
}

}  // namespace
}  // namespace burrow
