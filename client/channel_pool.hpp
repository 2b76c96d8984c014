// The client's connections to the server: `size` gRPC channels, each its own
// HTTP/2 connection over its own TCP (and TLS) connection, so that streams
// spread over several connections and the cores that serve them instead of
// queueing behind one transport (DESIGN.md §5: a pool of 2-8 beat one by
// ~25% at 8 streams). The Control stream lives on the first channel; each new
// stream (an idle Work stream, a visit, a re-attach) goes to the channel with
// the fewest open streams among those not failing.
//
// A channel connects on its first stream: the server shuts down a connection
// that shows no login within moments (server/client_gate.hpp), and a Work
// stream with the run id is that login. pool_count idle Work streams spread
// over the channels keep each one connected (so the config asks for
// connections <= pool_count).
//
// Channels whose connection went stale are replaced all at once (renew) and
// kept, never destroyed while the client runs: a channel torn down from
// gRPC's own callback threads is something gRPC 1.51 does not survive
// reliably (call_census.hpp). Thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace grpc {
class Channel;
}  // namespace grpc

namespace burrow {

class call_census;
struct tracked_stub;

// What the choice of a channel looks at, per channel.
struct channel_lane {
    bool failing = false;    // gRPC holds it in TRANSIENT_FAILURE (or shut down)
    std::size_t streams = 0; // streams open on it now
};
// The lane a new stream goes to: the fewest streams among those not failing
// (all, when every one fails), the first of equals. `lanes` is not empty.
std::size_t pick_lane(const std::vector<channel_lane>& lanes);

class channel_pool {
public:
    // make(i) creates channel i (distinct channel arguments, so that gRPC
    // never shares one connection between two of them).
    using factory = std::function<std::shared_ptr<grpc::Channel>(std::size_t index)>;
    channel_pool(factory make, std::size_t size, std::shared_ptr<call_census> calls);
    ~channel_pool();
    channel_pool(const channel_pool&) = delete;
    channel_pool& operator=(const channel_pool&) = delete;

    std::size_t size() const { return size_; }
    // The Control stream's channel.
    std::shared_ptr<grpc::Channel> control() const;
    // The stub for a new stream: on the least loaded channel.
    std::shared_ptr<tracked_stub> pick() const;
    // Streams open on each channel now (status, tests).
    std::vector<std::size_t> loads() const;
    // Every channel is replaced by a new one; the old ones are kept (the 16
    // most recent generations, long gone quiet when let go).
    void renew();
    // gRPC's own reconnect backoff is cleared on every channel: the client's
    // backoff paces the attempts.
    void reset_backoff() const;
    // Every channel, current and kept (held to the process's exit by a stop
    // whose calls did not end).
    std::vector<std::shared_ptr<grpc::Channel>> all() const;

private:
    factory make_;
    const std::size_t size_;
    std::shared_ptr<call_census> calls_;
    mutable std::mutex mutex_;
    std::vector<std::shared_ptr<tracked_stub>> stubs_;  // one per channel, current
    std::vector<std::shared_ptr<grpc::Channel>> old_;
};

}  // namespace burrow
