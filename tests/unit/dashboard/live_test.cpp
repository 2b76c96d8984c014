#include "server/live.hpp"

#include <gtest/gtest.h>

namespace burrow::live {
namespace {


TEST(live_book, a_session_is_listed_while_held_and_its_bytes_move_while_it_runs) {
    book b;
    b.client_up({1, "home", "127.0.0.1:5000", "0.1.0", 100.0});
    b.proxy_up({"ssh", "tcp", "home", 1, 6000, {}});
    auto s = b.open(7, "ssh", "home", 1, "127.0.0.1:40000");
    s->meter()->add_in(10);
    s->meter()->add_out(1000);
    auto list = b.sessions();
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].id, 7u);
    EXPECT_EQ(list[0].proxy, "ssh");
    EXPECT_EQ(list[0].user_addr, "127.0.0.1:40000");
    EXPECT_EQ(list[0].bytes_in, 10u);
    EXPECT_EQ(list[0].bytes_out, 1000u);
    EXPECT_EQ(list[0].path, "relay");
    s->meter()->add_out(24);
    EXPECT_EQ(b.sessions()[0].bytes_out, 1024u);  // no need to wait for the end

    auto proxies = b.proxies();
    ASSERT_EQ(proxies.size(), 1u);
    EXPECT_EQ(proxies[0].connections, 1u);
    EXPECT_EQ(proxies[0].bytes_out, 1024u);
    auto clients = b.clients();
    ASSERT_EQ(clients.size(), 1u);
    EXPECT_EQ(clients[0].sessions, 1u);
    EXPECT_EQ(clients[0].proxies, std::vector<std::string>{"ssh"});
}

TEST(live_book, an_ended_session_leaves_and_its_bytes_stay_in_its_proxys_totals) {
    book b;
    b.proxy_up({"ssh", "tcp", "home", 1, 6000, {}});
    auto s = b.open(1, "ssh", "home", 1, "a");
    s->meter()->add_in(5);
    s->meter()->add_out(50);
    s.reset();
    EXPECT_TRUE(b.sessions().empty());
    auto p = b.proxies().at(0);
    EXPECT_EQ(p.connections, 0u);
    EXPECT_EQ(p.connections_total, 1u);
    EXPECT_EQ(p.bytes_in, 5u);
    EXPECT_EQ(p.bytes_out, 50u);
    auto t = b.totals();
    EXPECT_EQ(t.bytes_in, 5u);
    EXPECT_EQ(t.bytes_out, 50u);
    EXPECT_EQ(t.sessions, 0u);
}

TEST(live_book, close_calls_the_sessions_closer_outside_the_lock) {
    book b;
    auto s = b.open(3, "ssh", "home", 1, "a");
    EXPECT_FALSE(b.close(3, "x")) << "nothing to close it with yet";
    std::string why;
    s->set_closer([&](const std::string& w) {
        why = w;
        s.reset();  // ending it takes the book's lock again
    });
    EXPECT_TRUE(b.close(3, "closed from the dashboard"));
    EXPECT_EQ(why, "closed from the dashboard");
    EXPECT_TRUE(b.sessions().empty());
    EXPECT_FALSE(b.close(3, "again"));
    EXPECT_FALSE(b.close(99, "unknown"));
}

TEST(live_book, clients_and_proxies_come_and_go_and_an_away_client_shows) {
    book b;
    b.client_up({1, "home", "addr", "v", 1.0});
    b.proxy_up({"nas", "http", "home", 1, 0, {"http://nas.localhost:8080"}});
    b.client_away(1);
    EXPECT_TRUE(b.clients().at(0).away);
    EXPECT_TRUE(b.proxies().at(0).away);
    b.client_back(1, "new-addr");
    EXPECT_FALSE(b.proxies().at(0).away);
    EXPECT_EQ(b.clients().at(0).info.addr, "new-addr");
    b.proxy_down("nas");
    b.client_down(1);
    EXPECT_TRUE(b.clients().empty());
    EXPECT_TRUE(b.proxies().empty());
    EXPECT_EQ(b.totals().clients, 0u);
}

TEST(live_book, a_failed_session_sets_its_proxys_last_error) {
    book b;
    b.proxy_up({"ssh", "tcp", "home", 1, 6000, {}});
    b.open(1, "ssh", "home", 1, "a")->failed("no work stream from the client within 10 s");
    EXPECT_EQ(b.proxies().at(0).last_error, "no work stream from the client within 10 s");
}

TEST(live_book, traffic_has_a_bucket_per_sample_and_the_one_in_progress) {
    book b;
    b.proxy_up({"ssh", "tcp", "home", 1, 6000, {}});
    auto s = b.open(1, "ssh", "home", 1, "a");
    s->meter()->add_out(100);
    auto t = b.traffic("ssh");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->bucket_seconds, book::bucket_seconds);
    ASSERT_EQ(t->out.size(), 1u);
    EXPECT_EQ(t->out[0], 100u) << "the bucket in progress shows at once";
    b.sample(1000.0);
    s->meter()->add_out(30);
    s->meter()->add_in(7);
    t = b.traffic("ssh");
    ASSERT_EQ(t->out.size(), 2u);
    EXPECT_EQ(t->out[0], 100u);
    EXPECT_EQ(t->out[1], 30u);
    EXPECT_EQ(t->in[1], 7u);
    EXPECT_EQ(t->t[1], 1000.0);
    s.reset();  // ended sessions still count in their bucket
    b.sample(1010.0);
    EXPECT_EQ(b.traffic("ssh")->out[1], 30u);
    EXPECT_FALSE(b.traffic("nope"));
}

TEST(live_book, the_series_is_bounded_to_an_hour) {
    book b;
    b.proxy_up({"ssh", "tcp", "home", 1, 6000, {}});
    for (int i = 0; i < 1000; ++i) b.sample(i * 10.0);
    EXPECT_EQ(b.traffic("ssh")->t.size(), book::max_buckets);
}

}  // namespace
}  // namespace burrow::live
