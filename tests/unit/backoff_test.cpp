// The reconnect backoff: doubling from the first delay, never above the cap
// (which bounds how long a client takes to notice a server that came back).
#include <chrono>

#include <gtest/gtest.h>

#include "common/net_util.hpp"

namespace burrow {
namespace {

using namespace std::chrono_literals;

TEST(backoff, doubles_up_to_the_cap_with_jitter_only_downwards) {
    backoff b(1s, 4s);
    const std::chrono::milliseconds bases[] = {1s, 2s, 4s, 4s, 4s, 4s};
    for (auto base : bases) {
        const auto d = b.next();
        EXPECT_LE(d, base);
        EXPECT_GE(d, base * 3 / 4);
    }
    for (int i = 0; i < 1000; ++i) EXPECT_LE(b.next(), 4s);  // however long it goes on
}

TEST(backoff, starts_over_after_a_reset) {
    backoff b(1s, 30s);
    for (int i = 0; i < 10; ++i) b.next();
    b.reset();
    EXPECT_LE(b.next(), 1s);
}

}  // namespace
}  // namespace burrow
