// What a connection to the client port may hold before it logs in.
//
// The server accepts client connections itself and counts each one here from
// accept until its first login: a Control login, or a Work stream presenting a
// live run id. Until then a connection is bounded per source address, in total,
// in streams, in bytes and in time: at the login deadline it is shut down
// whatever gRPC is doing with it (a TLS handshake, a bare HTTP/2 preface, a
// stream waiting for its login). The byte bound is the kernel's count of what
// the connection received: gRPC buffers a whole message before anything sees
// it (its own size limit applies only then), so without it one message could
// make the server hold gigabytes for a peer that never logs in. A connection
// that has logged in leaves the table: its peer holds the token, and its
// streams (one per user connection) are not counted.
//
// Thread-safe: the listener admits on its strand, gRPC threads open and close
// streams, a timer expires.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <absl/base/thread_annotations.h>
#include <absl/synchronization/mutex.h>
#include <boost/asio/ip/tcp.hpp>

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
        // A connection the gate shuts down keeps its descriptor until gRPC
        // notices, some time later: at most this many made room within
        // `eviction_window`; beyond that a newcomer is refused instead (a
        // flood would otherwise fill the descriptor table with them).
        std::size_t evictions = 2048;
        clock::duration eviction_window = std::chrono::milliseconds(500);
        // Bytes a connection may receive before its login: a client's TLS
        // handshake, HTTP/2 preface and Login take a few KiB. A connection
        // over it at two sweeps in a row is shut down (one sweep's grace:
        // streams that bring a run id may race ahead of its check).
        std::uint64_t bytes = 256 << 10;
        // How often expire() runs while a connection waits for its login: the
        // bytes and the deadline are checked then. gRPC opens a stream's
        // window to the size of the message it reads, so a peer sends one
        // huge message at the link's speed: on loopback, sweeps 100 ms apart
        // let 134-231 MiB of a 256 MiB Login in before the cut, 10 ms apart
        // 3.5-17 MiB. A flood of 1024 connections costs 1024 getsockopt calls
        // per sweep.
        clock::duration sweep_every = std::chrono::milliseconds(10);
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
    bool admit(const endpoint& raw_peer, int fd);

    // A stream opened, on the connection gRPC names `grpc_peer`
    // ("ipv4:1.2.3.4:5678"). Returns the ticket to close it with, 0 when the
    // connection has logged in (uncounted); nullopt refuses the stream: the
    // connection opened more streams than any client does before its login
    // and has been shut down.
    std::optional<std::uint64_t> open_stream(std::string_view grpc_peer);
    void close_stream(std::string_view grpc_peer, std::uint64_t ticket);

    // The connection logged in: it is no longer bounded.
    void logged_in(std::string_view grpc_peer);

    // Shuts down the connections whose login deadline has passed or that
    // received more than their bytes before it (see limits::bytes), and forgets
    // those that ended by themselves (gRPC, or the peer, closed them: the
    // duplicate sees the hang-up), so that they stop counting. Returns whether
    // any connection still waits for its login (no need to sweep otherwise).
    bool expire(clock::time_point now);

    void close_all();

    // "ipv4:1.2.3.4:5678", "ipv6:[::1]:5678" or "ipv6:%5B::1%5D:5678" (gRPC
    // escapes the brackets in URIs) as an endpoint; nullopt for anything else.
    static std::optional<endpoint> parse_grpc_peer(std::string_view peer);

private:
    struct conn {
        std::uint64_t serial;
        int watch_fd;  // our duplicate of gRPC's descriptor
        clock::time_point deadline;
        std::size_t streams;
        bool over_bytes = false;  // over the byte bound at the last sweep
    };

    // A flood of similar events logs a few lines per window, then one that
    // says how many were left out.
    struct log_budget {
        clock::time_point window_start{};
        int lines = 0;
        std::size_t suppressed = 0;
    };

    // Logs `line` within `b`'s budget.
    void note(log_budget& b, std::string line) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
    void drop(std::map<endpoint, conn>::iterator it) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
    void release_address(const boost::asio::ip::address& a) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

    const limits limits_;
    absl::Mutex mutex_;
    std::map<endpoint, conn> conns_ ABSL_GUARDED_BY(mutex_);
    std::map<boost::asio::ip::address, std::size_t> per_address_ ABSL_GUARDED_BY(mutex_);
    std::uint64_t serial_ ABSL_GUARDED_BY(mutex_) = 0;
    std::deque<clock::time_point> recent_evictions_ ABSL_GUARDED_BY(mutex_);
    log_budget refusals_ ABSL_GUARDED_BY(mutex_), evictions_ ABSL_GUARDED_BY(mutex_),
        cuts_ ABSL_GUARDED_BY(mutex_), expiries_ ABSL_GUARDED_BY(mutex_);

};

}  // namespace burrow
