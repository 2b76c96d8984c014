// The pump tests' fixture: a pump between one end of a socket pair (the
// user's end, which the test holds) and a fake carrier.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "common/stream/pump.hpp"
#include "common/stream/registry.hpp"
#include "tests/integration/fake_carrier.hpp"

namespace burrow::stream::fakes {

// A pump between one end of a socket pair and a fake carrier, started as
// the server starts one: head exchanged, then pumping.
class pump_lab : public ::testing::Test {
protected:
    void SetUp() override {
        runner_ = std::thread([this] { io_.run(); });
    }
    void TearDown() override {
        if (user_ >= 0) ::close(user_);
        guard_.reset();
        if (pump_) pump_->close("test over");
        // The pump may still finish its carrier from a completion on the io
        // thread: that thread stops before the carrier goes.
        io_.stop();
        runner_.join();
        pump_.reset();
        carrier_.reset();
    }

    // `tcp`: the two ends are a TCP connection on loopback (a reset is
    // visible there), else a Unix socket pair.
    void start(std::size_t replay_limit = ledger::default_replay_limit, bool tcp = false) {
        int fds[2];
        if (tcp)
            tcp_pair(fds);
        else
            ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
        ASSERT_GE(fds[1], 0);
        user_ = fds[0];
        pump_ = std::make_shared<pump>(io_.get_executor(), replay_limit);
        carrier_ = std::make_unique<fake_carrier>(io_);
        carrier_->bind(pump_);
        pump::stream_socket local(io_, asio::generic::stream_protocol(tcp ? AF_INET : AF_UNIX,
                                                                      tcp ? IPPROTO_TCP : 0),
                                  fds[1]);
        ASSERT_TRUE(pump_->start(local, "[test/1]"));
    }

    static void tcp_pair(int fds[2]) {
        fds[0] = fds[1] = -1;
        const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in at{};
        at.sin_family = AF_INET;
        at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof at;
        if (::bind(listener, reinterpret_cast<sockaddr*>(&at), len) != 0 ||
            ::listen(listener, 1) != 0 ||
            ::getsockname(listener, reinterpret_cast<sockaddr*>(&at), &len) != 0) {
            ::close(listener);
            return;
        }
        fds[0] = ::socket(AF_INET, SOCK_STREAM, 0);
        if (::connect(fds[0], reinterpret_cast<sockaddr*>(&at), len) == 0)
            fds[1] = ::accept(listener, nullptr, nullptr);
        ::close(listener);
    }

    // Writes to the user's end without blocking; returns what went.
    std::size_t user_write_some(const std::string& bytes) {
        const int flags = ::fcntl(user_, F_GETFL);
        ::fcntl(user_, F_SETFL, flags | O_NONBLOCK);
        const auto n = ::send(user_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        ::fcntl(user_, F_SETFL, flags);
        return n > 0 ? static_cast<std::size_t>(n) : 0;
    }
    // Reads from the user's end until `n` bytes, EOF or `limit`.
    std::string user_read(std::size_t n, bool* eof = nullptr,
                          std::chrono::milliseconds limit = 5s) {
        std::string got;
        const auto until = std::chrono::steady_clock::now() + limit;
        char buf[65536];
        while (got.size() < n && std::chrono::steady_clock::now() < until) {
            const auto r = ::recv(user_, buf, sizeof buf, MSG_DONTWAIT);
            if (r == 0) {
                if (eof) *eof = true;
                break;
            }
            if (r > 0)
                got.append(buf, static_cast<std::size_t>(r));
            else
                std::this_thread::sleep_for(1ms);
        }
        return got;
    }

    asio::io_context io_;
    registry sessions_;  // goes before the io_context its sweep timer uses
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_{
        io_.get_executor()};
    std::thread runner_;
    std::shared_ptr<pump> pump_;
    std::unique_ptr<fake_carrier> carrier_;
    int user_ = -1;
};

}  // namespace burrow::stream::fakes
