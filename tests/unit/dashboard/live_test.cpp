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

// A home client's reports of its direct sessions: listed as p2p while
// reported, their counts only grow, a moved visit counts from where the
// relay left it (its relay part is in the proxy's totals already), and the
// final counts of an ended one stay in the totals.
TEST(live_book, direct_sessions_come_from_reports_and_count_each_byte_once) {
    book b;
    b.client_up({1, "home", "127.0.0.1:5000", "0.1.0", 100.0});
    b.proxy_up({"vault", "secret", "home", 1, 0, {}});
    // Relayed visit 7 moves after 100 B in and 300 B out.
    {
        auto relayed = b.open(7, "vault", "home", 1, "laptop@a");
        relayed->meter()->add_in(100);
        relayed->meter()->add_out(300);
    }
    b.moved_to_direct(7, 100, 300);
    std::vector<std::pair<std::uint64_t, std::string>> closed;
    const auto closer = [&](std::uint64_t id, const std::string& why) { closed.emplace_back(id, why); };
    b.direct_report(1, "home", {{7, "vault", "laptop@b", 2.0, 150, 500, true, false},
                                {1001, "vault", "laptop@b", 0.5, 0, 40, false, false}}, closer);
    auto list = b.sessions();
    ASSERT_EQ(list.size(), 2u);
    for (const auto& s : list) EXPECT_EQ(s.path, "p2p");
    std::uint64_t out = 0;
    for (const auto& s : list) out += s.bytes_out;
    EXPECT_EQ(out, 200u + 40u);  // the moved one from the relay's 300 on
    EXPECT_EQ(b.proxies()[0].bytes_out, 300u + 200u + 40u);
    EXPECT_EQ(b.proxies()[0].connections, 2u);
    EXPECT_EQ(b.totals().connections_total, 2u);  // relayed visit 7 and 1001; 7 once
    // An older report does not make counts go back.
    b.direct_report(1, "home", {{7, "vault", "laptop@b", 2.0, 150, 450, true, false},
                                {1001, "vault", "laptop@b", 0.5, 0, 40, false, false}}, closer);
    EXPECT_EQ(b.proxies()[0].bytes_out, 540u);
    // The dashboard closes one: the client is asked, by its own id.
    const auto born = list[0].opened_at > list[1].opened_at ? list[0].id : list[1].id;  // the younger
    EXPECT_TRUE(b.close(born, "from the dashboard"));
    ASSERT_EQ(closed.size(), 1u);
    EXPECT_EQ(closed[0].first, 1001u);
    // 1001 ends with its final counts; 7 is no longer reported: both leave,
    // their bytes stay.
    b.direct_report(1, "home", {{1001, "vault", "laptop@b", 0.6, 0, 64, false, true},
                                {7, "vault", "laptop@b", 2.1, 150, 600, true, false}}, closer);
    EXPECT_EQ(b.sessions().size(), 1u);
    b.direct_report(1, "home", {}, closer);
    EXPECT_TRUE(b.sessions().empty());
    EXPECT_EQ(b.proxies()[0].bytes_out, 300u + 300u + 64u);
    EXPECT_EQ(b.proxies()[0].bytes_in, 100u + 50u);
    EXPECT_EQ(b.proxies()[0].connections, 0u);
}

TEST(live_book, a_clients_direct_sessions_leave_with_it_and_reports_are_bounded) {
    book b;
    b.client_up({1, "home", "a", "v", 1.0});
    b.proxy_up({"vault", "secret", "home", 1, 0, {}});
    std::vector<direct_info> many;
    for (std::uint64_t i = 1; i <= 1000; ++i) many.push_back({i, "vault", "x", 0, 1, 1, false, false});
    b.direct_report(1, "home", many, [](std::uint64_t, const std::string&) {});
    EXPECT_EQ(b.sessions().size(), 256u);
    b.client_down(1);
    EXPECT_TRUE(b.sessions().empty());
    EXPECT_EQ(b.totals().bytes_out, 256u);
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
