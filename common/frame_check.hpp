// Validation of the frames arriving on one direction of a Work stream.
//
// Network input is hostile: a frame must continue the byte stream exactly
// where the previous one ended, stay under the size bound, and carry nothing
// after fin. Pure code over plain values, so unit tests feed it directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace burrow {

// Largest payload one frame may carry. Senders use up to 256 KiB.
inline constexpr std::size_t max_frame_data = 1u << 20;
// What a sender reads from a socket into one frame.
inline constexpr std::size_t max_chunk = 256u << 10;

class inbound_stream {
public:
    // Accepts a data frame (offset of its first byte, payload size, fin flag).
    // Returns "" when fine, otherwise what is wrong with it.
    std::string accept(std::uint64_t offset, std::size_t size, bool fin);

    std::uint64_t received() const noexcept { return received_; }
    bool finished() const noexcept { return fin_; }

private:
    std::uint64_t received_ = 0;
    bool fin_ = false;
};

}  // namespace burrow
