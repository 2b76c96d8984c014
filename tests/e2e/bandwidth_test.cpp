// A proxy's bandwidth_limit (client.toml): each direction of its connections
// together moves no more than the limit (a token bucket on the home client's
// pumps), and another proxy of the same client is not held back.
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace burrow::e2e {
namespace {

using clock_type = std::chrono::steady_clock;
constexpr std::size_t rate = 1u << 20;  // bandwidth_limit = "1MiB" (per second)
constexpr std::size_t total = 3u << 20;

// Sends `bytes`, then closes.
std::function<void(int)> source(std::size_t bytes) {
    return [bytes](int fd) {
        const std::string block(64u << 10, 'b');
        for (std::size_t sent = 0; sent < bytes; sent += block.size())
            if (!send_all(fd, block.data(), std::min(block.size(), bytes - sent))) return;
        ::shutdown(fd, SHUT_WR);
    };
}

// Reads until EOF, then answers with the byte count.
void sink(int fd) {
    const auto got = recv_all(fd, 30s);
    const auto answer = std::to_string(got.size());
    send_all(fd, answer.data(), answer.size());
}

int connect_to(std::uint16_t port) {
    const int fd = connect_tcp(port);
    EXPECT_GE(fd, 0);
    return fd;
}

// Downloads `parts` streams at once from the proxy: seconds taken, and
// whether every byte arrived.
double download(std::uint16_t port, int parts, bool& complete) {
    const auto t0 = clock_type::now();
    std::vector<std::thread> users;
    std::vector<std::size_t> got(static_cast<std::size_t>(parts));
    for (int i = 0; i < parts; ++i)
        users.emplace_back([&, i] {
            const int fd = connect_to(port);
            got[static_cast<std::size_t>(i)] = recv_all(fd, 30s).size();
            ::close(fd);
        });
    for (auto& t : users) t.join();
    complete = true;
    for (auto n : got) complete = complete && n == total / static_cast<std::size_t>(parts);
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// A [[proxies]] table for a service on `port`.
std::string proxy(const std::string& name, std::uint16_t port, bool limited) {
    return "[[proxies]]\nname = \"" + name + "\"\nlocal_port = " + std::to_string(port) + "\n" +
           (limited ? "bandwidth_limit = \"1MiB\"\n" : "");
}

TEST(bandwidth, a_limited_proxy_moves_at_its_rate_each_way_over_all_its_connections) {
    tcp_service one(source(total)), halves(source(total / 2)), receiver(sink), free(source(total));
    burrow_lab lab;
    auto client = lab.start_client_with(
        proxy("down", one.port(), true) + proxy("halves", halves.port(), true) +
        proxy("up", receiver.port(), true) + proxy("free", free.port(), false));
    const auto down_port = burrow_lab::proxy_port(*client, "down");
    const auto up_port = burrow_lab::proxy_port(*client, "up");
    const auto free_port = burrow_lab::proxy_port(*client, "free");
    const auto halves_port = burrow_lab::proxy_port(*client, "halves");
    ASSERT_TRUE(down_port && up_port && free_port && halves_port) << client->log();

    // The ideal is total / rate = 3 s; the bucket's credit (0.1 s) and one
    // read ahead (at most 256 KiB) may go at once. The upper bound only says
    // the limit is not far below what was asked.
    const double least = static_cast<double>(total - (256u << 10) - rate / 10) / rate;
    const double most = 2.0 * static_cast<double>(total) / rate + 2;

    bool complete = false;
    const double whole = download(down_port, 1, complete);
    EXPECT_TRUE(complete);
    EXPECT_GE(whole, least);
    EXPECT_LE(whole, most);

    // Two connections share the proxy's limit.
    const double shared = download(halves_port, 2, complete);
    EXPECT_TRUE(complete);
    EXPECT_GE(shared, least);
    EXPECT_LE(shared, most);

    // Upload: the other direction.
    const auto t0 = clock_type::now();
    const int fd = connect_to(up_port);
    const std::string block(64u << 10, 'u');
    for (std::size_t sent = 0; sent < total; sent += block.size())
        ASSERT_TRUE(send_all(fd, block.data(), block.size()));
    ::shutdown(fd, SHUT_WR);
    EXPECT_EQ(recv_all(fd, 30s), std::to_string(total));
    ::close(fd);
    const double up = std::chrono::duration<double>(clock_type::now() - t0).count();
    EXPECT_GE(up, least);
    EXPECT_LE(up, most);

    // A proxy without a limit on the same client is not held back.
    const double unlimited = download(free_port, 1, complete);
    EXPECT_TRUE(complete);
    EXPECT_LT(unlimited, least / 2);
    std::printf("[ figure ] bandwidth_limit 1MiB/s, 3 MiB: download %.2f s, two connections %.2f s, "
                "upload %.2f s; the unlimited proxy %.3f s\n",
                whole, shared, up, unlimited);
}

}  // namespace
}  // namespace burrow::e2e
