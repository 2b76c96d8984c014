// The server's end of a Work stream: a gRPC carrier (common/grpc/carrier.hpp)
// under a pump. It waits for the client's hello, then offers the stream to
// the client session whose run id the hello names.
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

}  // namespace burrow
