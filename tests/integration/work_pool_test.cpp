// The server's work_pool counts the Work streams it awaits: a burst of user
// connections gets one stream asked for each stream it takes and no more,
// the client's own pool streams settle no ask, asks that never come are made
// again, and a client that lies about its streams' origin harms only its own
// users, within bounds. Streams are pumps on fake carriers (tests/integration).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <numeric>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "common/stream/registry.hpp"
#include "server/work_pool.hpp"
#include "tests/integration/fake_carrier.hpp"

namespace burrow {
namespace {

using namespace std::chrono_literals;
using stream::fakes::fake_carrier;

class work_pool_test : public ::testing::Test {
protected:
    static constexpr std::size_t pool_count = 4;

    void SetUp() override {
        runner_ = std::thread([this] { io_.run(); });
        pool_.set_target(pool_count);
    }
    void TearDown() override {
        pool_.close_all("test over");
        for (auto& p : pumps_) p->close("test over");
        guard_.reset();
        io_.stop();
        runner_.join();
        pumps_.clear();
        carriers_.clear();
    }

    // A Work stream as the client opens it: asked for, or a pool stream of its own.
    void stream_arrives(bool asked) {
        auto p = std::make_shared<stream::pump>(io_.get_executor());
        auto c = std::make_unique<fake_carrier>(io_);
        c->bind(p);
        carriers_.push_back(std::move(c));
        pumps_.push_back(p);
        pool_.offer(std::move(p), asked);
    }
    void user_arrives() {
        work_pool::request r;
        r.proxy = "p";
        r.conn_id = ++conn_ids_;
        r.peer = "192.0.2.1:40000";
        r.resumable = false;
        r.end = [this](std::shared_ptr<stream::pump> p, const std::string&) {
            ++(p ? paired_ : dropped_);
            return true;
        };
        pool_.add(std::move(r));
    }
    // Streams asked for and not yet sent by this test's "client".
    std::uint32_t owed() const {
        return std::accumulate(asks_.begin(), asks_.end(), 0u) - answered_;
    }
    // The client answers every ask.
    void answer_asks() {
        while (owed() > 0) {
            ++answered_;
            stream_arrives(true);
        }
    }

    boost::asio::io_context io_;
    stream::registry sessions_;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard_{
        io_.get_executor()};
    std::thread runner_;
    std::vector<std::uint32_t> asks_;
    std::uint32_t answered_ = 0;
    int paired_ = 0, dropped_ = 0, settled_ = 0;
    std::uint64_t conn_ids_ = 0;
    work_pool pool_{[this](std::uint32_t n) { asks_.push_back(n); }, [this] { ++settled_; },
                    sessions_};
    std::vector<std::unique_ptr<fake_carrier>> carriers_;
    std::vector<std::shared_ptr<stream::pump>> pumps_;
};

// The client's first pool_count streams, then 1000 users faster than the
// client answers: each stream taken is asked for once, so once the client
// has answered, exactly pool_count are idle again.
TEST_F(work_pool_test, a_burst_asks_for_each_stream_it_takes_and_no_more) {
    for (std::size_t i = 0; i < pool_count; ++i) stream_arrives(false);
    EXPECT_TRUE(asks_.empty());
    for (int i = 0; i < 1000; ++i) {
        user_arrives();
        // The client's answers trail the burst: one stream per three users.
        if (i % 3 == 0 && owed() > 0) {
            ++answered_;
            stream_arrives(true);
        }
    }
    answer_asks();
    EXPECT_EQ(paired_, 1000);
    EXPECT_EQ(dropped_, 0);
    EXPECT_EQ(settled_, 1000);
    EXPECT_EQ(answered_, 1000u) << "one stream asked for each user";
    EXPECT_EQ(pool_.idle(), pool_count);
    for (auto n : asks_) EXPECT_LE(n, 256u) << "a client opens at most 256 per NewWork";
}

// The client replaces a lost idle stream on its own; that stream settles
// no ask, so the stream asked for still counts as coming.
TEST_F(work_pool_test, a_pool_stream_settles_no_ask) {
    user_arrives();  // nothing idle: waits
    ASSERT_EQ(owed(), pool_count + 1);
    stream_arrives(false);
    EXPECT_EQ(paired_, 1);
    EXPECT_EQ(owed(), pool_count + 1) << "nothing more asked for: the asked ones are coming";
    answer_asks();
    EXPECT_EQ(pool_.idle(), pool_count + 1);  // one beyond the pool, for trim()
    user_arrives();
    EXPECT_EQ(paired_, 2);
    EXPECT_EQ(owed(), 0u) << "an idle stream beyond the pool was taken: nothing to replace";
}

// Asked-for streams that do not come within the pool's patience are asked
// for again (the client could not open them), not waited on until
// work_timeout; one that waited beyond work_timeout is dropped.
TEST_F(work_pool_test, asks_that_never_come_are_made_again) {
    user_arrives();
    const auto first = owed();
    ASSERT_GT(first, 0u);
    const auto now = work_pool::clock::now();
    pool_.tick(now, 10s, "test");
    EXPECT_EQ(owed(), first) << "asked again too soon";
    asks_.clear();  // the client lost those
    answered_ = 0;
    pool_.tick(now + 3s, 10s, "test");
    EXPECT_EQ(owed(), first) << "the waiting user's streams are asked for again";
    answer_asks();
    EXPECT_EQ(paired_, 1);

    for (std::size_t i = 0; i < pool_count; ++i) user_arrives();  // take the idle streams
    user_arrives();  // waits
    EXPECT_EQ(paired_, 5);
    pool_.tick(now + 11s, 10s, "test");
    EXPECT_EQ(dropped_, 1) << "waited beyond work_timeout";
}

// A client that comes back after its connection broke opens its pool on its
// own; only the waiting users' streams are asked for, and nothing is asked
// for again while it is away.
TEST_F(work_pool_test, a_client_away_is_not_asked_again_and_back_is_asked_for_the_waiting) {
    for (std::size_t i = 0; i < pool_count; ++i) stream_arrives(false);
    pool_.close_idle("control stream lost");
    EXPECT_EQ(pool_.idle(), 0u);
    asks_.clear();
    user_arrives();
    user_arrives();
    const auto asked_while_away = owed();
    pool_.tick(work_pool::clock::now() + 3s, 10s, "test");
    EXPECT_EQ(owed(), asked_while_away) << "asked again while away";
    asks_.clear();
    answered_ = 0;
    pool_.resumed();
    EXPECT_EQ(owed(), 2u);
    answer_asks();
    EXPECT_EQ(paired_, 2);
}

// Hostile clients: the origin in a stream's hello is the client's word, and
// a lie harms only that client's own users, within bounds.

// Every stream it opens unasked claims to be asked for: none settles an ask
// that was not made, the server keeps at most 256 idle and closes the rest,
// asks for nothing in return, and trims back to pool_count after a while.
TEST_F(work_pool_test, a_client_that_calls_its_own_streams_asked_for_fills_nothing_beyond_the_cap) {
    for (int i = 0; i < 1000; ++i) stream_arrives(true);
    EXPECT_TRUE(asks_.empty()) << "streams nobody asked for made the pool ask";
    EXPECT_EQ(pool_.idle(), 256u);
    const auto closed = std::count_if(pumps_.begin(), pumps_.end(),
                                      [](const auto& p) { return p->ended(); });
    EXPECT_EQ(closed, 1000 - 256);
    const auto now = work_pool::clock::now();
    pool_.tick(now, 10s, "test");
    pool_.tick(now + 6s, 10s, "test");
    EXPECT_EQ(pool_.idle(), pool_count) << "the surplus is closed after the grace";
    user_arrives();
    EXPECT_EQ(paired_, 1);
    EXPECT_EQ(owed(), 1u) << "the stream taken is asked for, once";
}

// Every stream it was asked for claims to be one of its own: the asks stay
// owed, so a later user waits, until the 2 s patience writes them off and
// asks again; the users are served, and no more is asked than they need.
TEST_F(work_pool_test, a_client_that_calls_asked_streams_its_own_delays_only_its_users) {
    for (int i = 0; i < 10; ++i) user_arrives();  // nothing idle: all wait
    const auto first = owed();
    ASSERT_EQ(first, pool_count + 10);
    for (std::uint32_t i = 0; i < first; ++i) stream_arrives(false);  // the lie
    answered_ = first;
    EXPECT_EQ(paired_, 10);
    EXPECT_EQ(pool_.idle(), pool_count);
    for (std::size_t i = 0; i < pool_count; ++i) user_arrives();  // takes the idle ones
    user_arrives();  // waits: the server counts pool_count + 10 streams as still coming
    EXPECT_EQ(paired_, 10 + int(pool_count));
    EXPECT_EQ(owed(), 0u) << "asked for more while as many were counted as coming";
    pool_.tick(work_pool::clock::now() + 3s, 10s, "test");
    EXPECT_EQ(owed(), pool_count + 1) << "after the patience: the pool and the waiting user";
    answer_asks();
    EXPECT_EQ(paired_, 11 + int(pool_count));
    EXPECT_EQ(dropped_, 0);
}

}  // namespace
}  // namespace burrow
