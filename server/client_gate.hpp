// What a connection to the client port may hold before it logs in.
//
// The server accepts client connections itself and counts each one here from
// accept until its first login: a Control login, or a Work stream presenting a
// live run id. Until then a connection is bounded per source address, in total,
// in streams and in time: at the login deadline it is shut down whatever gRPC
// is doing with it (a TLS handshake, a bare HTTP/2 preface, a stream waiting
// for its login). A connection that has logged in leaves the table: its peer
// holds the token, and its streams (one per user connection) are not counted.
//
// Thread-safe: the listener admits on its strand, gRPC threads open and close
// streams, a timer expires.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <absl/base/thread_annotations.h>
#include <absl/synchronization/mutex.h>
#include <boost/asio/ip/tcp.hpp>
#include <fmt/format.h>

#include "common/log.hpp"
#include "common/net_util.hpp"

namespace burrow {

class client_gate {
public:
    using clock = std::chrono::steady_clock;
    using endpoint = boost::asio::ip::tcp::endpoint;

    struct limits {
        std::size_t per_address = 16;  // connections not logged in, from one address
        std::size_t total = 1024;      // the same over all addresses
        std::size_t streams = 8;       // open streams on a connection not logged in
        clock::duration login_window = std::chrono::seconds(10);  // from accept
    };

    explicit client_gate(limits l) : limits_(l) {}
    ~client_gate() { close_all(); }
    client_gate(const client_gate&) = delete;
    client_gate& operator=(const client_gate&) = delete;

    const limits& limit() const { return limits_; }

    // A connection just accepted; `fd` is its socket, which gRPC will own.
    // The gate keeps a duplicate of it to shut the connection down with
    // (shutdown acts on the connection, so gRPC's descriptor sees it too, and
    // the duplicate never names another connection). False: refused (logged);
    // the caller closes `fd`.
    //
    // One address over its share is refused. When the table is full, the
    // oldest connection makes room instead: a client logs in within moments
    // of connecting, so many addresses together would have to replace the
    // whole table faster than that, again and again, to keep one out.
    bool admit(const endpoint& raw_peer, int fd) {
        const auto peer = normalize(raw_peer);
        absl::MutexLock lock(&mutex_);
        if (auto old = conns_.find(peer); old != conns_.end()) drop(old);  // a reused port
        const auto from_address = per_address_.count(peer.address())
                                      ? per_address_.at(peer.address())
                                      : std::size_t{0};
        if (from_address >= limits_.per_address) {
            note(refusals_, "connection from {} refused: {} connections from {} have not logged in",
                 to_string(peer), from_address, to_string(peer.address()));
            return false;
        }
        const int watch = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (watch < 0) {
            note(refusals_, "connection from {} refused: no file descriptor left", to_string(peer));
            return false;
        }
        if (conns_.size() >= limits_.total) {
            auto oldest = std::min_element(
                conns_.begin(), conns_.end(),
                [](const auto& a, const auto& b) { return a.second.deadline < b.second.deadline; });
            note(evictions_, "connection from {} closed to make room: {} connections have not "
                 "logged in", to_string(oldest->first), conns_.size());
            drop(oldest);
        }
        ++per_address_[peer.address()];
        conns_[peer] = conn{++serial_, watch, clock::now() + limits_.login_window, 0};
        return true;
    }

    // A stream opened, on the connection gRPC names `grpc_peer`
    // ("ipv4:1.2.3.4:5678"). Returns the ticket to close it with, 0 when the
    // connection has logged in (uncounted); nullopt refuses the stream: the
    // connection opened more streams than any client does before its login
    // and has been shut down.
    std::optional<std::uint64_t> open_stream(std::string_view grpc_peer) {
        const auto peer = parse_grpc_peer(grpc_peer);
        absl::MutexLock lock(&mutex_);
        auto it = peer ? conns_.find(*peer) : conns_.end();
        if (it == conns_.end()) return 0;
        if (it->second.streams >= limits_.streams) {
            note(cuts_, "connection from {} closed: more than {} streams before login",
                 to_string(*peer), limits_.streams);
            drop(it);
            return std::nullopt;
        }
        ++it->second.streams;
        return it->second.serial;
    }

    void close_stream(std::string_view grpc_peer, std::uint64_t ticket) {
        if (ticket == 0) return;
        const auto peer = parse_grpc_peer(grpc_peer);
        absl::MutexLock lock(&mutex_);
        auto it = peer ? conns_.find(*peer) : conns_.end();
        if (it != conns_.end() && it->second.serial == ticket && it->second.streams > 0)
            --it->second.streams;
    }

    // The connection logged in: it is no longer bounded.
    void logged_in(std::string_view grpc_peer) {
        const auto peer = parse_grpc_peer(grpc_peer);
        absl::MutexLock lock(&mutex_);
        if (auto it = peer ? conns_.find(*peer) : conns_.end(); it != conns_.end()) {
            ::close(it->second.watch_fd);
            release_address(it->first.address());
            conns_.erase(it);
        }
    }

    // Shuts down the connections whose login deadline has passed, and forgets
    // those that ended by themselves (gRPC, or the peer, closed them: the
    // duplicate sees the hang-up), so that they stop counting.
    void expire(clock::time_point now) {
        absl::MutexLock lock(&mutex_);
        std::vector<pollfd> watched;
        watched.reserve(conns_.size());
        for (const auto& [_, c] : conns_) watched.push_back({c.watch_fd, POLLRDHUP, 0});
        if (!watched.empty()) ::poll(watched.data(), watched.size(), 0);
        std::size_t i = 0;
        for (auto it = conns_.begin(); it != conns_.end(); ++i) {
            auto next = std::next(it);
            if (watched[i].revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)) {
                drop(it);
            } else if (now >= it->second.deadline) {
                note(expiries_, "connection from {} closed: no login within {} s",
                     to_string(it->first),
                     std::chrono::duration_cast<std::chrono::seconds>(limits_.login_window)
                         .count());
                drop(it);
            }
            it = next;
        }
    }

    void close_all() {
        absl::MutexLock lock(&mutex_);
        while (!conns_.empty()) drop(conns_.begin());
    }

    // "ipv4:1.2.3.4:5678", "ipv6:[::1]:5678" or "ipv6:%5B::1%5D:5678" (gRPC
    // escapes the brackets in URIs) as an endpoint; nullopt for anything else.
    static std::optional<endpoint> parse_grpc_peer(std::string_view peer) {
        if (!peer.starts_with("ipv4:") && !peer.starts_with("ipv6:")) return std::nullopt;
        std::string text;
        for (std::size_t i = 5; i < peer.size(); ++i) {
            if (peer[i] == '%' && i + 2 < peer.size()) {
                const auto hex = std::string(peer.substr(i + 1, 2));
                text.push_back(static_cast<char>(std::strtol(hex.c_str(), nullptr, 16)));
                i += 2;
            } else {
                text.push_back(peer[i]);
            }
        }
        const auto colon = text.rfind(':');
        if (colon == std::string::npos) return std::nullopt;
        auto host = text.substr(0, colon);
        if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
            host = host.substr(1, host.size() - 2);
        boost::system::error_code ec;
        const auto address = boost::asio::ip::make_address(host, ec);
        const auto port = std::strtoul(text.c_str() + colon + 1, nullptr, 10);
        if (ec || port > 65535) return std::nullopt;
        return normalize(endpoint(address, static_cast<std::uint16_t>(port)));
    }

private:
    struct conn {
        std::uint64_t serial;
        int watch_fd;  // our duplicate of gRPC's descriptor
        clock::time_point deadline;
        std::size_t streams;
    };

    // A flood of similar events logs a few lines per window, then one that
    // says how many were left out.
    struct log_budget {
        clock::time_point window_start{};
        int lines = 0;
        std::size_t suppressed = 0;
    };

    // gRPC names IPv4 peers of a dual-stack socket as IPv4; so do we.
    static endpoint normalize(const endpoint& ep) {
        const auto a = ep.address();
        if (a.is_v6() && a.to_v6().is_v4_mapped())
            return {boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6()),
                    ep.port()};
        return ep;
    }

    template <class... Args>
    void note(log_budget& b, fmt::format_string<Args...> format, Args&&... args)
        ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        const auto now = clock::now();
        if (now - b.window_start >= std::chrono::seconds(10)) {
            b.window_start = now;
            b.lines = 0;
        }
        if (b.lines >= 5) {
            ++b.suppressed;
            return;
        }
        ++b.lines;
        auto line = fmt::format(format, std::forward<Args>(args)...);
        if (b.suppressed > 0)
            line += fmt::format(" ({} more like this left out)", std::exchange(b.suppressed, 0));
        log::get("control").warn("{}", line);
    }

    void drop(std::map<endpoint, conn>::iterator it) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        ::shutdown(it->second.watch_fd, SHUT_RDWR);
        ::close(it->second.watch_fd);
        release_address(it->first.address());
        conns_.erase(it);
    }

    void release_address(const boost::asio::ip::address& a) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        if (auto it = per_address_.find(a); it != per_address_.end() && --it->second == 0)
            per_address_.erase(it);
    }

    const limits limits_;
    absl::Mutex mutex_;
    std::map<endpoint, conn> conns_ ABSL_GUARDED_BY(mutex_);
    std::map<boost::asio::ip::address, std::size_t> per_address_ ABSL_GUARDED_BY(mutex_);
    std::uint64_t serial_ ABSL_GUARDED_BY(mutex_) = 0;
    log_budget refusals_ ABSL_GUARDED_BY(mutex_), evictions_ ABSL_GUARDED_BY(mutex_),
        cuts_ ABSL_GUARDED_BY(mutex_), expiries_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace burrow
