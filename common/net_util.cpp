#include "common/net_util.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>

#include <thread>

#include "common/auth.hpp"
#include "common/log.hpp"

namespace burrow {

bool is_expected_error(const boost::system::error_code& ec) {
    namespace e = boost::asio::error;
    return ec == e::eof || ec == e::operation_aborted || ec == e::connection_reset ||
           ec == e::broken_pipe || ec == e::connection_aborted || ec == e::shut_down;
}

bool would_block(const boost::system::error_code& ec) {
    namespace e = boost::asio::error;
    return ec == e::would_block || ec == e::try_again;
}

// IPv4 without inet_ntop, which goes through sprintf: this runs for every
// accepted connection.
std::string to_string(const boost::asio::ip::address& a) {
    if (!a.is_v4()) return a.to_string();
    const auto b = a.to_v4().to_bytes();
    return fmt::format("{}.{}.{}.{}", b[0], b[1], b[2], b[3]);
}

std::string to_string(const boost::asio::ip::tcp::endpoint& ep) {
    if (ep.address().is_v6()) return fmt::format("[{}]:{}", to_string(ep.address()), ep.port());
    return fmt::format("{}:{}", to_string(ep.address()), ep.port());
}

std::string strip_grpc_peer(const std::string& peer) {
    for (const char* prefix : {"ipv4:", "ipv6:"})
        if (peer.rfind(prefix, 0) == 0) return peer.substr(5);
    return peer;
}

std::string random_hex(std::size_t bytes) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string raw = auth::random_bytes(bytes), out;
    out.reserve(bytes * 2);
    for (unsigned char c : raw) {
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 15]);
    }
    return out;
}

struct signal_watch::impl {
    boost::asio::io_context io;
    boost::asio::signal_set signals{io, SIGINT, SIGTERM};
};

signal_watch::signal_watch(bool hangup) : impl_(std::make_unique<impl>()) {
    if (hangup) impl_->signals.add(SIGHUP);
}

signal_watch::~signal_watch() = default;

int signal_watch::wait(const std::function<void()>& on_hangup, std::chrono::seconds shutdown_limit) {
    int received = 0;
    std::function<void()> arm = [&] {
        impl_->signals.async_wait([&](const boost::system::error_code& ec, int sig) {
            if (ec) return;
            if (sig != SIGHUP) {
                received = sig;
                return;
            }
            if (on_hangup) on_hangup();
            arm();
        });
    };
    arm();
    impl_->io.run();
    std::thread([shutdown_limit] {
        std::this_thread::sleep_for(shutdown_limit);
        log::get("main").error("shutdown did not finish within {} s; exiting now",
                               shutdown_limit.count());
        std::_Exit(1);
    }).detach();
    return received;
}

std::chrono::milliseconds backoff::next() {
    auto base = first_ * (1LL << std::min(attempt_, 20u));
    if (base > max_) base = max_;
    ++attempt_;
    // Jitter spreads clients that lost the same server; only downwards, so
    // that `max` is what a client waits at most between two attempts.
    std::uniform_real_distribution<double> jitter(0.75, 1.0);
    return std::chrono::milliseconds(static_cast<long long>(base.count() * jitter(rng_)));
}

void wait_for_drain(const std::function<std::size_t()>& open, std::chrono::seconds limit,
                    const std::string& what, spdlog::logger& log) {
    const auto n = open();
    if (n == 0 || limit.count() == 0) return;
    log.info("stopping: nothing new accepted; {} {} open, waiting up to {} s for them", n, what,
             limit.count());
    const auto since = std::chrono::steady_clock::now();
    while (open() > 0 && std::chrono::steady_clock::now() - since < limit)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - since);
    if (const auto left = open(); left > 0)
        log.warn("stopping: {} {} still open after {} s: ending them", left, what, limit.count());
    else
        log.info("stopping: every connection finished, after {} ms", waited.count());
}

}  // namespace burrow
