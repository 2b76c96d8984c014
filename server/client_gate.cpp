#include "server/client_gate.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/log.hpp"
#include "common/net_util.hpp"
#include "common/tcp_info.hpp"

namespace burrow {
namespace {

// gRPC names IPv4 peers of a dual-stack socket as IPv4; so do we.
client_gate::endpoint normalize(const client_gate::endpoint& ep) {
    const auto a = ep.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped())
        return {boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6()),
                ep.port()};
    return ep;
}

}  // namespace

bool client_gate::admit(const endpoint& raw_peer, int fd) {
    const auto peer = normalize(raw_peer);
    absl::MutexLock lock(&mutex_);
    if (auto old = conns_.find(peer); old != conns_.end()) drop(old);  // a reused port
    const auto known = per_address_.find(peer.address());
    const std::size_t from_address = known == per_address_.end() ? 0 : known->second;
    if (from_address >= limits_.per_address) {
        note(refusals_, fmt::format("connection from {} refused: {} connections from {} have not "
                                    "logged in",
                                    to_string(peer), from_address, to_string(peer.address())));
        return false;
    }
    const auto now = clock::now();
    while (!recent_evictions_.empty() &&
           now - recent_evictions_.front() > limits_.eviction_window)
        recent_evictions_.pop_front();
    if (conns_.size() >= limits_.total && recent_evictions_.size() >= limits_.evictions) {
        note(refusals_, fmt::format("connection from {} refused: {} connections that did not "
                                    "log in were closed in the last {} ms",
                                    to_string(peer), recent_evictions_.size(),
                                    std::chrono::duration_cast<std::chrono::milliseconds>(
                                        limits_.eviction_window)
                                        .count()));
        return false;
    }
    const int watch = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (watch < 0) {
        note(refusals_,
             fmt::format("connection from {} refused: no file descriptor left", to_string(peer)));
        return false;
    }
    if (conns_.size() >= limits_.total) {
        recent_evictions_.push_back(now);
        auto oldest = std::min_element(
            conns_.begin(), conns_.end(),
            [](const auto& a, const auto& b) { return a.second.deadline < b.second.deadline; });
        note(evictions_, fmt::format("connection from {} closed to make room: {} connections have "
                                     "not logged in",
                                     to_string(oldest->first), conns_.size()));
        drop(oldest);
    }
    ++per_address_[peer.address()];
    conns_[peer] = conn{++serial_, watch, now + limits_.login_window, 0};
    return true;
}

std::optional<std::uint64_t> client_gate::open_stream(std::string_view grpc_peer) {
    const auto peer = parse_grpc_peer(grpc_peer);
    absl::MutexLock lock(&mutex_);
    auto it = peer ? conns_.find(*peer) : conns_.end();
    if (it == conns_.end()) return 0;
    if (it->second.streams >= limits_.streams) {
        note(cuts_, fmt::format("connection from {} closed: more than {} streams before login",
                                to_string(*peer), limits_.streams));
        drop(it);
        return std::nullopt;
    }
    ++it->second.streams;
    return it->second.serial;
}

void client_gate::close_stream(std::string_view grpc_peer, std::uint64_t ticket) {
    if (ticket == 0) return;
    const auto peer = parse_grpc_peer(grpc_peer);
    absl::MutexLock lock(&mutex_);
    auto it = peer ? conns_.find(*peer) : conns_.end();
    if (it != conns_.end() && it->second.serial == ticket && it->second.streams > 0)
        --it->second.streams;
}

void client_gate::logged_in(std::string_view grpc_peer) {
    const auto peer = parse_grpc_peer(grpc_peer);
    absl::MutexLock lock(&mutex_);
    if (auto it = peer ? conns_.find(*peer) : conns_.end(); it != conns_.end()) {
        ::close(it->second.watch_fd);
        release_address(it->first.address());
        conns_.erase(it);
    }
}

bool client_gate::expire(clock::time_point now) {
    absl::MutexLock lock(&mutex_);
    std::vector<pollfd> watched;
    watched.reserve(conns_.size());
    for (const auto& [_, c] : conns_) watched.push_back({c.watch_fd, POLLRDHUP, 0});
    if (!watched.empty()) ::poll(watched.data(), watched.size(), 0);
    std::size_t i = 0;
    for (auto it = conns_.begin(); it != conns_.end(); ++i) {
        auto next = std::next(it);
        auto& c = it->second;
        if (watched[i].revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)) {
            drop(it);
        } else if (now >= c.deadline) {
            note(expiries_,
                 fmt::format("connection from {} closed: no login within {} s",
                             to_string(it->first),
                             std::chrono::duration_cast<std::chrono::seconds>(limits_.login_window)
                                 .count()));
            drop(it);
        } else if (const auto received = tcp_bytes_received(c.watch_fd);
                   received && *received > limits_.bytes) {
            if (std::exchange(c.over_bytes, true)) {
                note(cuts_, fmt::format("connection from {} closed: {} KiB received before a "
                                        "login (at most {} KiB)",
                                        to_string(it->first), *received >> 10,
                                        limits_.bytes >> 10));
                drop(it);
            }
        }
        it = next;
    }
    return !conns_.empty();
}

void client_gate::close_all() {
    absl::MutexLock lock(&mutex_);
    while (!conns_.empty()) drop(conns_.begin());
}

std::optional<client_gate::endpoint> client_gate::parse_grpc_peer(std::string_view peer) {
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

void client_gate::note(log_budget& b, std::string line) {
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
    if (b.suppressed > 0)
        line += fmt::format(" ({} more like this left out)", std::exchange(b.suppressed, 0));
    log::get("control").warn("{}", line);
}

void client_gate::drop(std::map<endpoint, conn>::iterator it) {
    ::shutdown(it->second.watch_fd, SHUT_RDWR);
    ::close(it->second.watch_fd);
    release_address(it->first.address());
    conns_.erase(it);
}

void client_gate::release_address(const boost::asio::ip::address& a) {
    if (auto it = per_address_.find(a); it != per_address_.end() && --it->second == 0)
        per_address_.erase(it);
}

}  // namespace burrow
