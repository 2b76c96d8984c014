// The Visit stream on the server: a visitor's connection to a secret proxy.
// Its first frame (VisitHello) is checked against the secret table; then the
// stream is spliced onto a Work stream of the client that serves the proxy
// (stream::splice), or refused with an error frame that says why.
#pragma once

#include <cstdint>

#include <grpcpp/support/server_callback.h>

namespace grpc {
class ByteBuffer;
class CallbackServerContext;
}  // namespace grpc

namespace burrow {

struct server_state;
class client_gate;

// `ticket` is the gate's for this stream (client_gate::open_stream).
grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* make_visit_reactor(
    grpc::CallbackServerContext* ctx, server_state& st, client_gate& gate, std::uint64_t ticket);

}  // namespace burrow
