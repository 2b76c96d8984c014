// The server's ends of the data streams, each a gRPC carrier
// (common/grpc/carrier.hpp) under a pump (stream_reactor.hpp):
//  - Work: waits for the client's hello, then offers the stream to the client
//    session whose run id the hello names (work_reactor.cpp);
//  - Visit: a visitor's connection to a secret proxy; its hello is checked
//    against the secret table, then the stream is spliced onto a Work stream
//    of the client that serves the proxy, or refused with an error frame that
//    says why (visit_reactor.cpp).
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
grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* make_work_reactor(
    grpc::CallbackServerContext* ctx, server_state& st, client_gate& gate, std::uint64_t ticket);
grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* make_visit_reactor(
    grpc::CallbackServerContext* ctx, server_state& st, client_gate& gate, std::uint64_t ticket);

}  // namespace burrow
