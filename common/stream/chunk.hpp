// chunk: a read-only, shared piece of bytes, what frame payloads are made of
// on every transport. Copying one takes a reference, never the bytes.
//
// Underneath it is a gRPC slice (chunk.cpp), so the gRPC carrier takes
// received payloads and hands over sent ones without a copy; nothing here
// needs a gRPC header. A chunk of up to 23 bytes keeps its bytes inside the
// object, so data() moves with it: never keep a pointer into a chunk that
// may move.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

struct grpc_slice;

namespace burrow::stream {

class chunk {
public:
    chunk() noexcept;
    ~chunk();
    chunk(const chunk& other) noexcept;
    chunk& operator=(const chunk& other) noexcept;
    chunk(chunk&& other) noexcept;
    chunk& operator=(chunk&& other) noexcept;

    // `n` uninitialised bytes, writable through writable() until shared.
    static chunk allocate(std::size_t n);
    static chunk copy_of(std::span<const std::uint8_t> bytes);

    const std::uint8_t* data() const noexcept;
    std::uint8_t* writable() noexcept { return const_cast<std::uint8_t*>(data()); }
    std::size_t size() const noexcept;
    bool empty() const noexcept { return size() == 0; }
    std::span<const std::uint8_t> bytes() const noexcept { return {data(), size()}; }
    // Bytes [begin, end) of this one, sharing them.
    chunk sub(std::size_t begin, std::size_t end) const;

    // For the gRPC carrier (common/grpc/frame_buffer.cpp): takes over a
    // reference, and lends the slice.
    static chunk adopt(const grpc_slice& slice) noexcept;
    const grpc_slice& slice() const noexcept;

private:
    alignas(void*) unsigned char raw_[32];  // a grpc_slice
};

}  // namespace burrow::stream
