#include "client/p2p/birthday_probe.hpp"

#include <set>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "client/p2p/host_resources.hpp"

namespace burrow::p2p {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;

// What is left of the process-wide budget of extra sockets.
int budget_left() {
    const int n = reserve_extra_sockets(100000);
    release_extra_sockets(n);
    return n;
}

TEST(birthday_probe, the_spray_is_shared_out_over_the_rounds) {
    birthday_probe probe;
    const auto to = asio::ip::make_address("192.0.2.7");
    probe.plan_spray(to, 10, 4);  // 10 ports over 4 rounds: 3, 3, 3, 1
    EXPECT_EQ(probe.ports_planned(), 10u);
    std::set<std::uint16_t> seen;
    std::vector<std::size_t> per_round;
    for (int round = 0; round < 5; ++round) {
        std::size_t n = 0;
        probe.spray_round([&](const udp::endpoint& e) {
            EXPECT_EQ(e.address(), to);
            seen.insert(e.port());
            ++n;
        });
        per_round.push_back(n);
    }
    EXPECT_EQ(per_round, (std::vector<std::size_t>{3, 3, 3, 1, 0}));
    EXPECT_EQ(seen.size(), 10u);
    // No rounds to spread over counts as one.
    probe.plan_spray(to, 5, 0);
    std::size_t n = 0;
    probe.spray_round([&](const udp::endpoint&) { ++n; });
    EXPECT_EQ(n, 5u);
}

TEST(birthday_probe, the_socket_that_got_through_is_taken_and_the_rest_close) {
    asio::io_context io;
    const int before = budget_left();
    birthday_probe probe;
    std::vector<birthday_probe::socket_ptr> listened;
    probe.open_sockets(io.get_executor(), udp::v4(), 4, "[test]",
                       [&](const birthday_probe::socket_ptr& s) { listened.push_back(s); });
    ASSERT_EQ(probe.sockets().size(), 4u);
    EXPECT_EQ(listened, probe.sockets());
    std::set<std::uint16_t> ports;
    for (const auto& s : probe.sockets()) {
        EXPECT_TRUE(s->is_open());
        ports.insert(s->local_endpoint().port());
    }
    EXPECT_EQ(ports.size(), 4u);  // each a mapping of its own
    EXPECT_EQ(budget_left(), before - 4);

    std::size_t number = 0;
    udp::socket stranger(io, udp::endpoint(udp::v4(), 0));
    EXPECT_EQ(probe.take(&stranger, number), nullptr);
    EXPECT_EQ(probe.sockets().size(), 4u);

    auto taken = probe.take(listened[2].get(), number);
    ASSERT_EQ(taken, listened[2]);
    EXPECT_EQ(number, 3u);
    EXPECT_TRUE(taken->is_open());
    EXPECT_TRUE(probe.sockets().empty());
    for (std::size_t i : {0u, 1u, 3u}) EXPECT_FALSE(listened[i]->is_open());
    EXPECT_EQ(budget_left(), before);  // the taken one is the path's now, not the budget's
}

TEST(birthday_probe, closing_gives_the_budget_back) {
    asio::io_context io;
    const int before = budget_left();
    {
        birthday_probe probe;
        probe.open_sockets(io.get_executor(), udp::v4(), 3, "[test]", [](const auto&) {});
        EXPECT_EQ(budget_left(), before - 3);
    }  // destroyed: closed
    EXPECT_EQ(budget_left(), before);
}

}  // namespace
}  // namespace burrow::p2p
