// A buffer for the byte pipe after a switch, and for draining. Buffers are
// recycled: a fresh 64 KiB allocation and free each showed up as a tenth of
// the server's time (malloc consolidation).
#pragma once

#include <cstddef>
#include <memory>

namespace burrow::vhost {

// The piece a body, or a pipe after a switch, is relayed in.
inline constexpr std::size_t relay_chunk = 64 * 1024;

class relay_buffer {
public:
    relay_buffer();   // one from the pool, or a new one
    ~relay_buffer();  // back to the pool, unless it is full
    relay_buffer(const relay_buffer&) = delete;
    relay_buffer& operator=(const relay_buffer&) = delete;

    std::unique_ptr<char[]> data;  // relay_chunk bytes
};

}  // namespace burrow::vhost
