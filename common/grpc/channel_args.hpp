// Channel arguments that both ends of the tunnel set, on the server's port
// and on the client's channels.
#pragma once

#include <grpc/grpc.h>
#include <grpc/impl/codegen/compression_types.h>

namespace burrow::grpc_args {

// No compression, either way. Tunnelled bytes are the users' (mostly
// compressed or encrypted already), and a compressed message is a bomb: gRPC
// would inflate a 256 KiB gzip of zeros to 256 MiB before any size limit
// looked at it. A call whose headers name any encoding is refused at once
// ("Compression algorithm 'gzip' is disabled"), and the filter that would
// inflate it is left out of every call: about 0.6 KiB less per Work stream
// at each end. `set(name, int)` adds one argument.
template <class Set>
void no_compression(Set&& set) {
    set(GRPC_COMPRESSION_CHANNEL_ENABLED_ALGORITHMS_BITSET, 1 << GRPC_COMPRESS_NONE);
    set(GRPC_ARG_ENABLE_PER_MESSAGE_COMPRESSION, 0);
    set(GRPC_ARG_ENABLE_PER_MESSAGE_DECOMPRESSION, 0);
}

}  // namespace burrow::grpc_args
