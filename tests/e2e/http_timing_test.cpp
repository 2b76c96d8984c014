// The HTTP vhost against users and services that take their time: request
// bodies that trickle (slowloris on the body), services slow to read,
// long polls and event streams, bodies that go silent, and the start-up
// grace for names whose clients have not registered again yet. Real
// burrow-server and burrow-client processes (harness.hpp, http_peers.hpp).
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <future>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "http_peers.hpp"

namespace burrow::e2e {
namespace {

// ---- 1. slow request bodies ----

// Users who each sent a request header and now drip one body byte every 500 ms.
class drip_users {
public:
    drip_users(std::uint16_t port, const std::string& head, int count) : start_(clock_type::now()) {
        for (int i = 0; i < count; ++i) {
            const int fd = connect_tcp(port);
            if (fd < 0 || !send_all(fd, head.data(), head.size()))
                throw std::runtime_error("drip user could not connect");
            fds_.push_back(fd);
        }
        cut_.resize(fds_.size());
    }
    ~drip_users() {
        for (int fd : fds_) close(fd);
    }

    // Drips until every connection is closed by the server or `limit` passes;
    // returns when each was closed, measured from construction (nullopt: not closed).
    std::vector<std::optional<clock_type::duration>> run(milliseconds limit) {
        const auto deadline = start_ + limit;
        std::vector<pollfd> polls(fds_.size());
        auto next_drip = clock_type::now();
        char buf[4096];
        for (;;) {
            const auto now = clock_type::now();
            std::size_t open = 0;
            for (std::size_t i = 0; i < fds_.size(); ++i) {
                polls[i] = {cut_[i] ? -1 : fds_[i], POLLIN, 0};
                open += cut_[i] ? 0 : 1;
            }
            if (open == 0 || now >= deadline) break;
            if (now >= next_drip) {
                for (std::size_t i = 0; i < fds_.size(); ++i)
                    if (!cut_[i] && ::send(fds_[i], "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
                        errno != EAGAIN)
                        cut_[i] = now - start_;
                next_drip += 500ms;
                continue;
            }
            const auto wait = std::chrono::duration_cast<milliseconds>(
                std::min(next_drip, deadline) - now);
            if (::poll(polls.data(), polls.size(), static_cast<int>(wait.count()) + 1) <= 0)
                continue;
            for (std::size_t i = 0; i < fds_.size(); ++i) {
                if (cut_[i] || !(polls[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                const ssize_t k = ::recv(fds_[i], buf, sizeof buf, MSG_DONTWAIT);
                if (k == 0 || (k < 0 && errno != EAGAIN)) cut_[i] = clock_type::now() - start_;
            }
        }
        return cut_;
    }

private:
    clock_type::time_point start_;
    std::vector<int> fds_;
    std::vector<std::optional<clock_type::duration>> cut_;
};

// A service that reads a request until the connection closes, and counts its open connections.
struct sink_service {
    std::atomic<int> open{0}, most{0};
    tcp_service service{[this](int fd) {
        const int now = ++open;
        for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
        }
        recv_all(fd, 30s);
        --open;
    }};

    // Whether every connection it had is closed within `limit`.
    bool drains(milliseconds limit) const {
        for (const auto until = clock_type::now() + limit; open.load() != 0;) {
            if (clock_type::now() > until) return false;
            std::this_thread::sleep_for(20ms);  // polling the gauge
        }
        return true;
    }
};

// A vhost with body limits `limits`, a proxy "slow" to a sink that dripping
// users feed, and a proxy "up" to the app beside it for a real upload.
struct slow_body_lab {
    sink_service sink;
    app_peer up{"up"};
    vhost_lab v;
    std::unique_ptr<process> client;
    static constexpr const char* drip_head =
        "POST /slow HTTP/1.1\r\nHost: slow.test\r\nContent-Length: 100000\r\n\r\n";

    explicit slow_body_lab(const std::string& limits) : v(limits) {
        client = v.client(proxy("slow", sink.service.port(), domains(R"("slow.test")")) +
                              proxy("up", up.port(), domains(R"("up.test")")),
                          {"slow", "up"});
    }

    // Uploads `size` bytes to "up"; the app must report them whole.
    void expect_upload(std::size_t size, std::uint32_t seed) {
        temp_dir d;
        const auto data = random_bytes(size, seed);
        write_text(d.file("data.bin"), data);
        const auto upload =
            v.get("up.test", "/upload", {"--data-binary", "@" + d.file("data.bin")});
        EXPECT_TRUE(served_by(upload, "up"));
        EXPECT_NE(upload.body.find("\nbody=" + std::to_string(size) + " " + sha256_hex(data) +
                                   "\n"),
                  npos)
            << upload;
    }
};

TEST(http_timing, trickling_request_bodies_are_cut_and_free_their_service_connections) {
    slow_body_lab lab("vhost_body_timeout = 2\nvhost_body_min_rate = 500\n");
    drip_users users(lab.v.http_port, slow_body_lab::drip_head, 20);
    auto cut = std::async(std::launch::async, [&users] { return users.run(15s); });
    lab.expect_upload(1u << 20, 35);

    const auto when = cut.get();
    for (std::size_t i = 0; i < when.size(); ++i) {
        ASSERT_TRUE(when[i]) << "user " << i << " still connected after 15 s";
        EXPECT_GE(*when[i], 1500ms) << "user " << i << " cut before the body timeout";
    }
    EXPECT_GT(lab.sink.most.load(), 0) << "no request body reached the service";
    EXPECT_TRUE(lab.sink.drains(5s)) << lab.sink.open.load() << " service connections still open";
}

TEST(http_timing, a_total_body_deadline_cuts_a_drip_but_not_a_fast_10_mib_upload) {
    slow_body_lab lab("vhost_body_timeout = 2\nvhost_body_min_rate = 0\n");
    drip_users user(lab.v.http_port, slow_body_lab::drip_head, 1);
    auto cut = std::async(std::launch::async, [&user] { return user.run(10s); });
    lab.expect_upload(10u << 20, 36);

    const auto when = cut.get()[0];
    ASSERT_TRUE(when) << "the dripping user was still connected after 10 s";
    EXPECT_GE(*when, 1500ms);
    EXPECT_LT(*when, 5s);
    EXPECT_TRUE(lab.sink.drains(5s)) << lab.sink.open.load() << " service connections still open";
}

// ---- 2. long responses ----

// response_timeout bounds the wait for the header, not the gaps in a body.
// Answers one request whose body it reads only after `pause`: "body=SIZE SHA256".
void late_reader(int fd, milliseconds pause) {
    std::this_thread::sleep_for(pause);  // the behaviour under test: a service that does not read
    std::string got;
    char buf[1 << 16];
    std::size_t header_end = npos, length = 0;
    for (;;) {
        const auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return;
        got.append(buf, static_cast<std::size_t>(n));
        if (header_end == npos && (header_end = got.find("\r\n\r\n")) != npos) {
            const auto at = lower(got).find("content-length:");
            if (at == npos) return;
            length = std::stoul(got.substr(at + 15));
            header_end += 4;
        }
        if (header_end != npos && got.size() >= header_end + length) break;
    }
    const auto body = "body=" + std::to_string(length) + " " +
                      sha256_hex(got.substr(header_end, length)) + "\n";
    const auto answer = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                        "\r\n\r\n" + body;
    send_all(fd, answer.data(), answer.size());
    char c;
    while (::recv(fd, &c, 1, 0) > 0) {
    }
}

TEST(http_timing, time_the_service_takes_to_read_a_body_is_not_held_against_the_user) {
    // The body has 2 s in total of waiting for the user; the service reads
    // nothing for 4 s, so Burrow stops reading the user (backpressure) for
    // about as long. That wait is the service's, and the upload goes through.
    tcp_service late([](int fd) { late_reader(fd, 4s); });
    vhost_lab v("vhost_body_timeout = 2\nvhost_body_min_rate = 0\n");
    auto client = v.client(proxy("late", late.port(), domains(R"("late.test")")), {"late"});
    temp_dir d;
    const auto data = random_bytes(48u << 20, 37);  // more than every buffer on the way
    write_text(d.file("data.bin"), data);
    const auto started = clock_type::now();
    const auto upload = v.get("late.test", "/upload", {"--data-binary", "@" + d.file("data.bin")});
    EXPECT_EQ(upload.status, 200) << upload;
    EXPECT_EQ(upload.body, "body=50331648 " + sha256_hex(data) + "\n") << upload;
    EXPECT_GE(clock_type::now() - started, 4s) << "the service did not hold the upload back";
}

TEST(http_timing, long_poll_and_event_stream_bodies_outlive_response_timeout) {
    raw_peer service;
    vhost_lab v;
    auto client = v.client(
        proxy("poll", service.port(), domains(R"("poll.test")") + "\nresponse_timeout = 1"),
        {"poll"});
    const auto ask = [&](const std::string& target) {
        return std::async(std::launch::async, [&v, target] {
            return round_trip(v.http_port, get_closing(target, "poll.test"), 15s);
        });
    };
    auto chunked = ask("/poll/chunked?gap=3"), events = ask("/poll/sse?gap=3"),
         late = ask("/poll/late?gap=3");

    const auto c = chunked.get();
    EXPECT_EQ(c.reply.status, 200) << c;
    EXPECT_TRUE(c.closed) << c;
    EXPECT_NE(c.reply.body.find("piece 1\n"), npos) << c;
    EXPECT_NE(c.reply.body.find("piece 3\n"), npos) << c;
    EXPECT_TRUE(c.reply.body.ends_with("\r\n0\r\n\r\n")) << c;

    const auto e = events.get();
    EXPECT_EQ(e.reply.status, 200) << e;
    EXPECT_TRUE(e.closed) << e;
    EXPECT_EQ(e.reply.body, "data: event 1\n\ndata: event 2\n\ndata: event 3\n\n") << e;

    const auto l = late.get();
    EXPECT_EQ(l.reply.status, 504) << l;
    EXPECT_GE(l.took, 900ms) << l;
    EXPECT_LT(l.took, 2900ms) << l;
}

TEST(http_timing, a_body_silent_for_longer_than_response_idle_timeout_is_cut) {
    raw_peer service;
    vhost_lab v;
    auto client = v.client(
        proxy("poll", service.port(), domains(R"("poll.test")") + "\nresponse_idle_timeout = 2"),
        {"poll"});
    const auto r = round_trip(v.http_port, get_closing("/poll/gap?gap=5", "poll.test"), 10s);
    EXPECT_EQ(r.reply.status, 200) << r;
    EXPECT_TRUE(r.closed) << r;
    EXPECT_EQ(r.reply.body, "first-half|") << r;
    EXPECT_GE(r.took, 1500ms) << r;
    EXPECT_LT(r.took, 4500ms) << r;
}

// ---- 3. start-up grace ----

// Right after a server restart its clients have not registered again yet: an
// unknown name gets 503 + Retry-After (come back soon), not 404 (no such
// site), until vhost_start_grace has passed.
TEST(http_timing, unknown_hosts_get_503_during_the_start_up_grace_and_404_after_it) {
    app_peer app("a");
    const auto start = clock_type::now();
    vhost_lab v("vhost_start_grace = 3\n");
    const auto early = v.get("nobody.test");
    EXPECT_EQ(early.status, 503) << early;
    EXPECT_FALSE(early.header("Retry-After").empty()) << early;
    const auto not_yet = v.get("a.test");  // its client has not registered (again) yet
    EXPECT_EQ(not_yet.status, 503) << not_yet;

    auto client = v.client(proxy("a", app.port(), domains(R"("a.test")")), {"a"});
    EXPECT_TRUE(served_by(v.get("a.test"), "a"));
    if (clock_type::now() - start < 2500ms) {
        const auto meanwhile = v.get("nobody.test");
        EXPECT_EQ(meanwhile.status, 503) << meanwhile;
    }
    http_reply r;
    for (const auto until = start + 15s; clock_type::now() < until;) {
        r = v.get("nobody.test");
        if (r.status != 503) break;
        std::this_thread::sleep_for(100ms);  // polling for the end of the grace
    }
    const auto switched = clock_type::now() - start;
    EXPECT_EQ(r.status, 404) << r;
    EXPECT_GE(switched, 2900ms) << "the grace ended early";
    EXPECT_TRUE(served_by(v.get("a.test"), "a"));
}

}  // namespace
}  // namespace burrow::e2e
