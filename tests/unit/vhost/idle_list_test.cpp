// The upstream pool's bookkeeping, driven with fake connections and made-up
// times: most recent first, bounded per key, unfit and stale ones handed back.
#include "server/vhost/idle_list.hpp"

#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace burrow::vhost {
namespace {

using namespace std::chrono_literals;

struct fake {
    int id;
    bool fit = true;
};
using conn = std::shared_ptr<fake>;
using list = idle_list<std::string, conn>;
using clock = list::clock;

bool fit(const conn& c) { return c->fit; }
conn make(int id) { return std::make_shared<fake>(fake{id}); }

TEST(idle_list, takes_the_most_recent_of_the_key) {
    list idle(4, 30s);
    const auto t = clock::time_point{} + 1h;
    EXPECT_EQ(idle.put("a", make(1), t), nullptr);
    EXPECT_EQ(idle.put("a", make(2), t), nullptr);
    EXPECT_EQ(idle.put("b", make(3), t), nullptr);
    std::vector<conn> closing;
    EXPECT_EQ(idle.take("a", t, fit, closing)->id, 2);
    EXPECT_EQ(idle.take("a", t, fit, closing)->id, 1);
    EXPECT_EQ(idle.take("a", t, fit, closing), nullptr);
    EXPECT_EQ(idle.take("c", t, fit, closing), nullptr);
    EXPECT_TRUE(closing.empty());
    EXPECT_EQ(idle.size(), 1u);
}

TEST(idle_list, a_full_key_gives_up_its_oldest) {
    list idle(2, 30s);
    const auto t = clock::time_point{} + 1h;
    idle.put("a", make(1), t);
    idle.put("a", make(2), t);
    const auto oldest = idle.put("a", make(3), t);
    ASSERT_NE(oldest, nullptr);
    EXPECT_EQ(oldest->id, 1);
    EXPECT_EQ(idle.size(), 2u);
}

TEST(idle_list, take_hands_back_the_unfit_it_meets_and_leaves_the_rest) {
    list idle(8, 30s);
    const auto t = clock::time_point{} + 1h;
    idle.put("a", make(1), t);
    auto stale = make(2);
    idle.put("a", stale, t);
    auto closed = make(3);
    closed->fit = false;
    idle.put("a", closed, t + 20s);
    idle.put("b", make(4), t);
    std::vector<conn> closing;
    // At t + 35 s: 3 is closed by the service, 2 and 1 idled too long. Only
    // the ones met on the way to a fit one go; here none is fit.
    EXPECT_EQ(idle.take("a", t + 35s, fit, closing), nullptr);
    ASSERT_EQ(closing.size(), 3u);
    EXPECT_EQ(closing[0]->id, 3);
    EXPECT_EQ(closing[1]->id, 2);
    EXPECT_EQ(closing[2]->id, 1);
    EXPECT_EQ(idle.size(), 1u);  // "b" waits for the sweep

    closing.clear();
    idle.put("a", make(5), t + 35s);
    idle.put("a", make(6), t + 35s);
    EXPECT_EQ(idle.take("a", t + 40s, fit, closing)->id, 6);
    EXPECT_TRUE(closing.empty());
}

TEST(idle_list, sweep_closes_what_went_stale_everywhere) {
    list idle(8, 30s);
    const auto t = clock::time_point{} + 1h;
    idle.put("a", make(1), t);
    idle.put("a", make(2), t + 20s);
    auto closed = make(3);
    idle.put("b", closed, t + 20s);
    closed->fit = false;
    std::vector<conn> closing;
    idle.sweep(t + 31s, fit, closing);
    ASSERT_EQ(closing.size(), 2u);
    EXPECT_EQ(closing[0]->id, 1);
    EXPECT_EQ(closing[1]->id, 3);
    EXPECT_EQ(idle.size(), 1u);
    EXPECT_EQ(idle.take("a", t + 31s, fit, closing)->id, 2);
    EXPECT_EQ(idle.take("b", t + 31s, fit, closing), nullptr);
}

}  // namespace
}  // namespace burrow::vhost
