// The splice between two fake carriers (a visitor's stream and a service's),
// and a pump handing its carrier over to it: frames pass on unchanged, a
// slow side holds the other, a side that breaks or refuses ends both once.
#include "common/stream/splice.hpp"

#include <atomic>
#include <optional>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <gtest/gtest.h>

#include "tests/integration/fake_carrier.hpp"

namespace burrow::stream {
namespace {

using namespace fakes;

class splice_lab : public ::testing::Test {
protected:
    void SetUp() override {
        runner_ = std::thread([this] { io_.run(); });
        splice_ = std::make_shared<splice>(
            [this](bool ok, const std::string& why, const splice::totals& t, double) {
                std::lock_guard lock(mutex_);
                ++ends_;
                ok_ = ok;
                why_ = why;
                totals_ = t;
            });
    }
    void TearDown() override {
        splice_->close("test over");
        splice_.reset();
        guard_.reset();
        runner_.join();
    }
    void attach_both() {
        splice_->attach(splice::visitor, &visitor_);
        splice_->attach(splice::service, &service_);
    }
    int ends() {
        std::lock_guard lock(mutex_);
        return ends_;
    }

    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_{io_.get_executor()};
    std::thread runner_;
    fake_carrier visitor_{io_}, service_{io_};
    std::shared_ptr<splice> splice_;
    std::mutex mutex_;
    int ends_ = 0;
    bool ok_ = false;
    std::string why_;
    splice::totals totals_;
};

TEST_F(splice_lab, frames_pass_unchanged_both_ways_and_both_fins_end_it_well) {
    attach_both();
    visitor_.push_data(0, "hello", false, 0);
    ASSERT_TRUE(eventually([&] { return service_.data_sent() == "hello"; }));
    service_.push_data(0, "world", true, 5);
    ASSERT_TRUE(eventually([&] { return visitor_.data_sent() == "world"; }));
    // Offsets, acknowledgements and fin as the sender wrote them.
    const auto down = visitor_.writes().back();
    EXPECT_EQ(down.offset, 0u);
    EXPECT_EQ(down.ack, 5u);
    EXPECT_TRUE(down.fin);
    EXPECT_EQ(ends(), 0);
    visitor_.push_data(5, "", true, 5);
    ASSERT_TRUE(eventually([&] { return ends() == 1; }));
    EXPECT_TRUE(ok_) << why_;
    EXPECT_EQ(totals_.to_service, 5u);
    EXPECT_EQ(totals_.to_visitor, 5u);
    ASSERT_TRUE(eventually([&] { return visitor_.finishes() == 1 && service_.finishes() == 1; }));
    EXPECT_TRUE(visitor_.finish_ok());
    EXPECT_TRUE(service_.finish_ok());
}

TEST_F(splice_lab, a_side_that_does_not_take_writes_holds_the_other) {
    service_.set_auto_complete(false);
    attach_both();
    for (std::uint64_t i = 0; i < 5; ++i) visitor_.push_data(i, "x", false, 0);
    // One frame in the write to the service, one read and held: the rest waits.
    ASSERT_TRUE(eventually([&] { return visitor_.unread() == 3; }));
    std::this_thread::sleep_for(50ms);  // nothing more is taken meanwhile
    EXPECT_EQ(visitor_.unread(), 3u);
    EXPECT_EQ(service_.writes().size(), 1u);
    service_.set_auto_complete(true);
    ASSERT_TRUE(eventually([&] { return service_.data_sent() == "xxxxx"; }));
    EXPECT_EQ(visitor_.unread(), 0u);
}

TEST_F(splice_lab, a_side_that_breaks_ends_both_once) {
    attach_both();
    visitor_.push_data(0, "abc", false, 0);
    ASSERT_TRUE(eventually([&] { return service_.data_sent() == "abc"; }));
    visitor_.break_read();
    ASSERT_TRUE(eventually([&] { return ends() == 1; }));
    EXPECT_FALSE(ok_);
    EXPECT_EQ(why_, "visitor stream closed");
    ASSERT_TRUE(eventually([&] { return visitor_.finishes() == 1 && service_.finishes() == 1; }));
    EXPECT_FALSE(service_.finish_ok());
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(ends(), 1);
    EXPECT_EQ(service_.finishes(), 1);
}

TEST_F(splice_lab, an_error_frame_reaches_the_other_side_before_it_ends) {
    attach_both();
    service_.push_error("local service unreachable: Connection refused");
    ASSERT_TRUE(eventually([&] { return ends() == 1; }));
    EXPECT_FALSE(ok_);
    const auto w = visitor_.writes();
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0].type, frame::kind::error);
    EXPECT_EQ(w[0].bytes, "local service unreachable: Connection refused");
    // Finished as ok, so that the visitor's end reads the reason first.
    ASSERT_TRUE(eventually([&] { return visitor_.finishes() == 1 && service_.finishes() == 1; }));
    EXPECT_TRUE(visitor_.finish_ok());
}

TEST_F(splice_lab, heads_and_data_after_fin_are_protocol_errors) {
    attach_both();
    visitor_.push_data(0, "a", true, 0);
    visitor_.push_data(1, "b", false, 0);
    ASSERT_TRUE(eventually([&] { return ends() == 1; }));
    EXPECT_FALSE(ok_);
    EXPECT_NE(why_.find("data after fin"), std::string::npos) << why_;
}

TEST_F(splice_lab, a_side_that_never_comes_ends_the_other) {
    splice_->attach(splice::visitor, &visitor_);
    splice_->attach(splice::service, nullptr);
    ASSERT_TRUE(eventually([&] { return ends() == 1; }));
    EXPECT_FALSE(ok_);
    ASSERT_TRUE(eventually([&] { return visitor_.finishes() == 1; }));
    EXPECT_FALSE(visitor_.finish_ok());
}

// A pump whose head was read hands its carrier over once its own head is
// out, and ends without finishing it; the splice then drives it.
TEST_F(splice_lab, a_pump_hands_its_idle_carrier_over_after_its_head) {
    auto p = std::make_shared<pump>(io_.get_executor());
    service_.bind(p);
    std::atomic<bool> got_head{false};
    p->read_head([&](std::string) { got_head = true; });
    service_.push_head("hello");
    ASSERT_TRUE(eventually([&] { return got_head.load(); }));
    p->send_head("start");
    std::atomic<carrier*> handed{nullptr};
    std::atomic<bool> called{false};
    p->hand_over([&](carrier* c) {
        handed = c;
        called = true;
    });
    ASSERT_TRUE(eventually([&] { return called.load(); }));
    EXPECT_EQ(handed.load(), &service_);
    EXPECT_TRUE(p->ended());
    EXPECT_EQ(service_.finishes(), 0);
    ASSERT_EQ(service_.writes().size(), 1u);
    EXPECT_EQ(service_.writes()[0].bytes, "start");

    splice_->attach(splice::service, handed.load());
    splice_->attach(splice::visitor, &visitor_);
    service_.push_data(0, "banner", false, 0);
    ASSERT_TRUE(eventually([&] { return visitor_.data_sent() == "banner"; }));

    // A pump that is not idle gives nothing.
    auto busy = std::make_shared<pump>(io_.get_executor());
    fake_carrier other(io_);
    other.bind(busy);
    busy->read_head([](std::string) {});  // a read is outstanding
    std::atomic<bool> refused{false};
    busy->hand_over([&](carrier* c) { refused = c == nullptr; });
    ASSERT_TRUE(eventually([&] { return refused.load(); }));
    busy->close("test over");
}

}  // namespace
}  // namespace burrow::stream
