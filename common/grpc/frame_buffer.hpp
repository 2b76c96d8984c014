// Frames as gRPC messages: a Work stream's messages are burrow.v1.Frame,
// kept as serialized ByteBuffers so that payloads are never copied
// (stream/frame_codec.hpp). Only the gRPC carriers include this.
#pragma once

#include <grpcpp/support/byte_buffer.h>

#include "common/stream/frame.hpp"

namespace burrow::grpc_frames {

// Decodes `in` into `out`, whose payload chunks share `in`'s slices; what is
// not a valid frame leaves out.type == malformed and says why in out.text.
void decode(grpc::ByteBuffer& in, stream::frame& out);
// Makes `out` hold `f`, sharing its payload chunks.
void encode(const stream::frame& f, grpc::ByteBuffer& out);

}  // namespace burrow::grpc_frames
