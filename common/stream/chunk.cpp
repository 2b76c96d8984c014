#include "common/stream/chunk.hpp"

#include <cstring>
#include <new>

#include <grpc/slice.h>

namespace burrow::stream {

static_assert(sizeof(grpc_slice) == 32 && alignof(grpc_slice) <= alignof(void*));

namespace {
grpc_slice& as_slice(unsigned char* raw) noexcept {
    return *std::launder(reinterpret_cast<grpc_slice*>(raw));
}
}  // namespace

chunk::chunk() noexcept { new (raw_) grpc_slice(grpc_empty_slice()); }
chunk::~chunk() { grpc_slice_unref(as_slice(raw_)); }

chunk::chunk(const chunk& other) noexcept {
    new (raw_) grpc_slice(grpc_slice_ref(other.slice()));
}
chunk& chunk::operator=(const chunk& other) noexcept {
    if (this != &other) {
        grpc_slice_unref(as_slice(raw_));
        as_slice(raw_) = grpc_slice_ref(other.slice());
    }
    return *this;
}
// A slice is a plain struct with an external reference count: moving it is
// copying its bytes and leaving an empty slice behind.
chunk::chunk(chunk&& other) noexcept {
    new (raw_) grpc_slice(other.slice());
    as_slice(other.raw_) = grpc_empty_slice();
}
chunk& chunk::operator=(chunk&& other) noexcept {
    if (this != &other) {
        grpc_slice_unref(as_slice(raw_));
        as_slice(raw_) = other.slice();
        as_slice(other.raw_) = grpc_empty_slice();
    }
    return *this;
}

chunk chunk::allocate(std::size_t n) {
    chunk c;
    as_slice(c.raw_) = grpc_slice_malloc(n);
    return c;
}

chunk chunk::copy_of(std::span<const std::uint8_t> bytes) {
    chunk c;
    as_slice(c.raw_) =
        grpc_slice_from_copied_buffer(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return c;
}

const std::uint8_t* chunk::data() const noexcept {
    return GRPC_SLICE_START_PTR(slice());
}
std::size_t chunk::size() const noexcept { return GRPC_SLICE_LENGTH(slice()); }

chunk chunk::sub(std::size_t begin, std::size_t end) const {
    chunk c;
    as_slice(c.raw_) = grpc_slice_sub(slice(), begin, end);
    return c;
}

chunk chunk::adopt(const grpc_slice& slice) noexcept {
    chunk c;
    as_slice(c.raw_) = slice;
    return c;
}

const grpc_slice& chunk::slice() const noexcept {
    return *std::launder(reinterpret_cast<const grpc_slice*>(raw_));
}

}  // namespace burrow::stream
