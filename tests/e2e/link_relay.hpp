// A link the test controls between a client and the server (socat, killed
// and started again), and the small tools of the tests that cut it.
#pragma once

#include <sys/socket.h>

#include <csignal>
#include <fstream>
#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/harness.hpp"

namespace burrow::e2e {

// socat between the client and the server, a process per connection (the
// client holds transport.connections of them), all of which a cut kills.
class relay {
public:
    relay(temp_dir& dir, std::uint16_t server_port)
        : dir_(dir), server_port_(server_port), port_(free_port()) {}
    std::uint16_t port() const { return port_; }

    // The port may be held for a moment by a socket of the client's own:
    // while the link is down, its retries to 127.0.0.1:port can, rarely,
    // connect to themselves (TCP simultaneous open, when the kernel picks
    // that very port as the source). Such a socket goes at once; so does
    // the next attempt's bind failure (a fresh-clone CI run failed once so).
    void up() {
        const auto until = std::chrono::steady_clock::now() + 10s;
        do {
            proc_ = std::make_unique<process>(
                std::vector<std::string>{"/usr/bin/socat", "-d", "-d",
                                         "TCP-LISTEN:" + std::to_string(port_) +
                                             ",bind=127.0.0.1,reuseaddr,fork",
                                         "TCP:127.0.0.1:" + std::to_string(server_port_)},
                dir_.file("relay" + std::to_string(++runs_) + ".log"));
            const auto seen = proc_->wait_log("(listening on|Address already in use)", 10s);
            if (seen && *seen == "listening on") return;
            proc_->wait_exit(2s);
            std::this_thread::sleep_for(50ms);
        } while (std::chrono::steady_clock::now() < until);
        FAIL() << "the link's port " << port_ << " stayed in use: " << proc_->log();
    }
    // The link dies: both sides see every connection close. The listener is
    // stopped first (it forks no more), then each connection's process goes.
    void cut() {
        proc_->kill(SIGSTOP);
        for (int child : children(proc_->pid())) ::kill(child, SIGKILL);
        proc_->kill(9);
        proc_->wait_exit(5s);
        proc_.reset();
    }

private:
    static std::vector<int> children(int pid) {
        std::vector<int> out;
        std::ifstream f("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) +
                        "/children");
        for (int c; f >> c;) out.push_back(c);
        return out;
    }

    temp_dir& dir_;
    std::uint16_t server_port_, port_;
    std::unique_ptr<process> proc_;
    int runs_ = 0;
};

// Polls `cond` until it holds or `limit` passes.
inline bool within(const std::function<bool()>& cond, milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!cond()) {
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

// Sends `bytes` on `fd` (an echo behind it) and reads as many back.
inline std::string echo_once(int fd, const std::string& bytes) {
    if (!send_all(fd, bytes.data(), bytes.size())) return {};
    std::string back(bytes.size(), '\0');
    const auto n = ::recv(fd, back.data(), back.size(), MSG_WAITALL);
    return n == static_cast<ssize_t>(back.size()) ? back : std::string();
}

// The client's config, pointed at the relay instead of the server.
inline std::string via(const std::string& config, std::uint16_t relay_port) {
    return std::regex_replace(config, std::regex("server_port = \\d+"),
                              "server_port = " + std::to_string(relay_port));
}

// Sends `data` in 256 KiB pieces, `pause` after each: a transfer that lasts.
inline void paced_send(int fd, const std::string& data, milliseconds pause) {
    constexpr std::size_t piece = 256u << 10;
    for (std::size_t at = 0; at < data.size(); at += piece) {
        if (!send_all(fd, data.data() + at, std::min(piece, data.size() - at))) return;
        std::this_thread::sleep_for(pause);
    }
}

}  // namespace burrow::e2e
