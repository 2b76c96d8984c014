// quic_link on loopback: two UDP sockets, a visitor (QUIC client) and a home
// (QUIC server) link, and real pumps on socket pairs at both ends of each
// stream: the handshake with a pinned certificate, the stream proof, and
// bytes through many streams at once.
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <gtest/gtest.h>

#include "burrow.pb.h"
#include "client/p2p/quic_link.hpp"
#include "client/p2p/udp_batch.hpp"
#include "common/stream/carrier.hpp"
#include "common/stream/pump.hpp"

namespace burrow::quic {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using namespace std::chrono_literals;

// One end: a UDP socket on loopback, its strand, its link, and a receive loop.
struct end {
    link::strand strand;
    std::shared_ptr<udp::socket> socket;
    std::shared_ptr<link> quic;
    udp_batch::reader rx;
    std::promise<std::string> closed;

    explicit end(asio::io_context& io)
        : strand(asio::make_strand(io.get_executor())), socket(std::make_shared<udp::socket>(strand)) {
        socket->open(udp::v4());
        socket->bind({asio::ip::address_v4::loopback(), 0});
        socket->non_blocking(true);
        udp_batch::enable_gro(socket->native_handle());
    }
    udp::endpoint where() const { return socket->local_endpoint(); }
    void receive() {  // as a direct path does: GRO batches
        socket->async_wait(udp::socket::wait_read, [this](boost::system::error_code ec) {
            if (ec == asio::error::operation_aborted || !socket->is_open()) return;
            rx.drain(socket->native_handle(), [this](std::span<const std::uint8_t> p, const udp::endpoint& src) {
                if (quic) quic->receive(p, src);
            });
            receive();
        });
    }
};

// A session's local end: a pump on one end of a socket pair.
struct session {
    int user = -1;
    std::shared_ptr<stream::pump> pump;
};

session pumped(asio::io_context& io, std::shared_ptr<stream::pump> p) {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    stream::pump::stream_socket local(io, asio::generic::stream_protocol(AF_UNIX, 0), fds[1]);
    EXPECT_TRUE(p->start(local, "[test]"));
    return {fds[0], std::move(p)};
}

class quic_link_test : public ::testing::Test {
protected:
    void SetUp() override {
        for (int i = 0; i < 2; ++i) runners_.emplace_back([this] { io_.run(); });
        key_.fill(7);
    }
    void TearDown() override {
        for (auto* e : {&home_, &visitor_})
            if (*e && (*e)->quic) (*e)->quic->close("test over");
        std::this_thread::sleep_for(50ms);  // the close packets go out
        for (auto* e : {&home_, &visitor_})
            if (*e) asio::post((*e)->strand, [s = (*e)->socket] { s->close(); });
        guard_.reset();
        io_.stop();
        for (auto& t : runners_) t.join();
    }

    // Both links; the visitor pins `pinned` (the home's own, by default).
    void connect(std::optional<fingerprint> pinned = {}, std::array<std::uint8_t, 32> visitor_key = {}) {
        auto id = identity::make();
        home_ = std::make_unique<end>(io_);
        visitor_ = std::make_unique<end>(io_);
        link::settings h;
        h.server = true;
        h.peer = visitor_->where();
        h.id = id;
        h.key = key_;
        h.tag = "[home]";
        home_->quic = link::make(home_->strand, home_->socket, h,
                                 [this](stream::carrier* c, const link& on) { serve(c, on); },
                                 [this](const std::string& why) { home_->closed.set_value(why); });
        link::settings v;
        v.peer = home_->where();
        v.pinned = pinned.value_or(id->sha256());
        v.key = visitor_key == std::array<std::uint8_t, 32>{} ? key_ : visitor_key;
        v.tag = "[visitor]";
        visitor_->quic = link::make(visitor_->strand, visitor_->socket, v, {},
                                    [this](const std::string& why) { visitor_->closed.set_value(why); });
        for (auto* e : {home_.get(), visitor_.get()})
            asio::post(e->strand, [e] { e->receive(); });
        asio::post(visitor_->strand, [this] { visitor_->quic->start(); });
    }

    bool wait_ready(std::chrono::milliseconds limit = 5s) {
        const auto until = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < until) {
            if (visitor_->quic->ready() && home_->quic->ready()) return true;
            std::this_thread::sleep_for(5ms);
        }
        return false;
    }

    // The home side of a stream: checks the head's proof, answers, pumps.
    void serve(stream::carrier* c, const link& on) {
        auto served = std::make_shared<stream::pump>(io_.get_executor());
        served->attach(c);
        c->set_events(served);
        std::weak_ptr<stream::pump> weak = served;
        served->read_head([this, weak, proof = on.proof()](std::string head) {
            auto p = weak.lock();
            v1::Frame f;
            if (!p || !f.ParseFromString(head) || !f.has_direct()) return;
            if (f.direct().proof() != proof) return p->fail("bad proof");
            v1::Frame answer;
            answer.mutable_visited()->set_tag("[served]");
            p->send_head(answer.SerializeAsString());
            std::lock_guard lock(mutex_);
            served_.push_back(pumped(io_, p));
        });
    }

    // A visitor's session: head out, answer awaited, then pumping.
    std::optional<session> open(std::string proof) {
        auto* c = visitor_->quic->open_stream();
        if (!c) return {};
        auto p = std::make_shared<stream::pump>(io_.get_executor());
        p->attach(c);
        c->set_events(p);
        std::promise<bool> answered;
        p->read_head([&answered](std::string) { answered.set_value(true); },
                     [&answered](std::string) { answered.set_value(false); });
        v1::Frame hello;
        hello.mutable_direct()->set_proxy("ssh");
        hello.mutable_direct()->set_proof(proof);
        p->send_head(hello.SerializeAsString());
        auto fut = answered.get_future();
        if (fut.wait_for(5s) != std::future_status::ready || !fut.get()) return {};
        return pumped(io_, p);
    }

    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_{io_.get_executor()};
    std::vector<std::thread> runners_;
    std::array<std::uint8_t, 32> key_{};
    std::unique_ptr<end> home_, visitor_;
    std::mutex mutex_;
    std::vector<session> served_;
};

std::string random_text(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
}

void write_all(int fd, const std::string& s) {
    for (std::size_t at = 0; at < s.size();) {
        const auto n = ::write(fd, s.data() + at, s.size() - at);
        ASSERT_GT(n, 0);
        at += static_cast<std::size_t>(n);
    }
}
std::string read_n(int fd, std::size_t n) {
    std::string out(n, '\0');
    for (std::size_t at = 0; at < n;) {
        const auto r = ::read(fd, out.data() + at, n - at);
        if (r <= 0) return out.substr(0, at);
        at += static_cast<std::size_t>(r);
    }
    return out;
}

TEST_F(quic_link_test, handshake_with_the_pinned_certificate_then_bytes_both_ways_on_many_streams) {
    connect();
    ASSERT_TRUE(wait_ready());
    EXPECT_EQ(visitor_->quic->proof(), home_->quic->proof());
    EXPECT_EQ(visitor_->quic->proof().size(), 32u);
    constexpr int streams = 6;
    constexpr std::size_t size = 6u << 20;
    std::vector<std::thread> users;
    std::atomic<int> intact{0};
    for (int i = 0; i < streams; ++i) {
        auto s = open(visitor_->quic->proof());
        ASSERT_TRUE(s) << "stream " << i;
        users.emplace_back([this, s = *s, i, &intact] {
            // Each stream: the visitor's bytes reach the home's socket, and
            // the home's reach the visitor's, at once.
            session home_end;
            for (int tries = 0; tries < 500; ++tries) {
                {
                    std::lock_guard lock(mutex_);
                    if (served_.size() > static_cast<std::size_t>(i)) {
                        home_end = served_[static_cast<std::size_t>(i)];
                        break;
                    }
                }
                std::this_thread::sleep_for(10ms);
            }
            if (home_end.user < 0) return;
            const auto up = random_text(size, static_cast<unsigned>(i));
            const auto down = random_text(size, static_cast<unsigned>(100 + i));
            std::thread writer([&] { write_all(s.user, up); });
            std::thread back([&] { write_all(home_end.user, down); });
            const auto got_up = read_n(home_end.user, size);
            const auto got_down = read_n(s.user, size);
            writer.join();
            back.join();
            if (got_up == up && got_down == down) ++intact;
        });
        users.back().join();  // streams are served in the order they are opened
    }
    EXPECT_EQ(intact.load(), streams);
}

// Datagrams from a stranger: junk, fake Initials (long header, 1200 bytes),
// fake short-header packets, before and during a transfer. The home makes
// no connection for them, and the real one carries every byte.
TEST_F(quic_link_test, junk_and_fake_packets_from_a_stranger_change_nothing) {
    connect();
    udp::socket stranger(io_);
    stranger.open(udp::v4());
    stranger.bind({asio::ip::address_v4::loopback(), 0});
    std::mt19937 rng(7);
    auto junk = [&](int count) {
        for (int i = 0; i < count; ++i) {
            std::string d = random_text(1 + rng() % 1400, rng());
            if (i % 3 == 0) {
                d.resize(1200);
                d[0] = static_cast<char>(0xC0);  // long header, Initial
                d[1] = d[2] = d[3] = 0;
                d[4] = 1;  // version 1
            } else if (i % 3 == 1) {
                d[0] = static_cast<char>(0x40 | (d[0] & 0x3f));  // short header
            }
            boost::system::error_code ignored;
            stranger.send_to(asio::buffer(d), i % 2 ? home_->where() : visitor_->where(), 0, ignored);
        }
    };
    junk(2000);
    ASSERT_TRUE(wait_ready());
    auto s = open(visitor_->quic->proof());
    ASSERT_TRUE(s);
    session home_end;
    for (int tries = 0; tries < 500 && home_end.user < 0; ++tries) {
        {
            std::lock_guard lock(mutex_);
            if (!served_.empty()) home_end = served_.front();
        }
        std::this_thread::sleep_for(10ms);
    }
    ASSERT_GE(home_end.user, 0);
    const auto up = random_text(8u << 20, 1);
    std::thread writer([&] { write_all(s->user, up); });
    std::thread flood([&] { junk(20000); });
    const auto got = read_n(home_end.user, up.size());
    writer.join();
    flood.join();
    EXPECT_TRUE(got == up);
    EXPECT_TRUE(visitor_->quic->ready() && home_->quic->ready());
}

TEST_F(quic_link_test, a_visitor_pinning_another_certificate_never_gets_a_connection) {
    fingerprint other{};
    other.fill(0xab);
    connect(other);
    auto closed = visitor_->closed.get_future();
    ASSERT_EQ(closed.wait_for(10s), std::future_status::ready);
    EXPECT_NE(closed.get().find("not the one the server announced"), std::string::npos);
    EXPECT_FALSE(visitor_->quic->ready());
    EXPECT_EQ(visitor_->quic->open_stream(), nullptr);
}

TEST_F(quic_link_test, a_stream_with_a_proof_made_under_another_key_is_refused) {
    std::array<std::uint8_t, 32> wrong{};
    wrong.fill(9);
    connect({}, wrong);
    ASSERT_TRUE(wait_ready());
    EXPECT_NE(visitor_->quic->proof(), home_->quic->proof());
    EXPECT_FALSE(open(visitor_->quic->proof()));
    std::lock_guard lock(mutex_);
    EXPECT_TRUE(served_.empty());
}

}  // namespace
}  // namespace burrow::quic
