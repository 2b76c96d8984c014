// How the client reaches the server: one gRPC channel per connection of the
// pool (channel_pool.hpp), each with a TCP connection of its own, TLS as the
// config says (the server's certificate pinned by its SHA-256 fingerprint, or
// checked against a CA), and the channel arguments a tunnel needs (no
// retries, no compression, a bounded message size, keepalive, and gRPC's
// reconnect backoff kept within ours).
#pragma once

#include <cstddef>
#include <memory>

namespace grpc {
class Channel;
}

namespace burrow {

struct client_config;

// The channel for connection `index` (distinct per index, so that gRPC gives
// each its own connection).
std::shared_ptr<grpc::Channel> make_server_channel(const client_config& config, std::size_t index);

}  // namespace burrow
