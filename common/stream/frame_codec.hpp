// Wire codec for data frames of Work streams, without copying payloads.
//
// A Frame (proto/burrow.proto) is protobuf on the wire. Data frames are by far
// the most common and carry up to 256 KiB, so they are encoded and decoded
// here by hand: the sender puts a small header (offset, ack, fin and the data
// field's tag and length) in front of the socket bytes, and the receiver
// finds the payload's byte ranges inside gRPC's slices and writes them to the
// socket as they are. Head frames (hello, start) and error frames are rare and
// small; they go through the generated protobuf code.
//
// Pure code over byte spans: no gRPC, no I/O.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/stream/frame.hpp"

namespace burrow::frame_codec {

using bytes = std::span<const std::uint8_t>;

// Field numbers of burrow.v1.Frame.
enum field : std::uint32_t {
    f_hello = 1,
    f_start = 2,
    f_data = 3,
    f_offset = 4,
    f_ack = 5,
    f_fin = 6,
    f_error = 7,
    f_visit = 8,    // head frames of a Visit stream
    f_visited = 9,
    f_resume = 10,  // head frames of a Work stream that re-attaches a session
    f_resumed = 11,
    f_direct = 12,  // head frame of a QUIC stream on a direct path
};

// The fields that make a frame a head frame (parsed with protobuf).
constexpr bool is_head_field(std::uint32_t number) {
    return number == f_hello || number == f_start || (number >= f_visit && number <= f_direct);
}

// Header of a data frame: everything before the payload bytes.
struct header {
    std::array<std::uint8_t, 40> buf{};
    std::size_t size = 0;
    bytes view() const { return {buf.data(), size}; }
};
header encode_data_header(std::uint64_t offset, std::uint64_t ack, bool fin,
                          std::size_t data_size);

struct decoded {
    bool has_head = false;   // a head field present (is_head_field): parse with protobuf instead
    bool has_error = false;  // error present: parse with protobuf instead
    std::uint64_t offset = 0;
    std::uint64_t ack = 0;
    bool fin = false;
    std::size_t data_size = 0;
    std::vector<bytes> data;  // the payload, as ranges inside the input spans

    // Back to the state of a fresh object, keeping `data`'s capacity (a
    // bridge decodes every frame into the same object).
    void clear() {
        has_head = has_error = fin = false;
        offset = ack = 0;
        data_size = 0;
        data.clear();
    }
};

// Decodes a frame spread over `parts` (gRPC slices). Returns "" on success,
// otherwise what is malformed. Unknown fields are skipped (forward
// compatibility); a repeated data field is rejected.
std::string decode(const std::vector<bytes>& parts, decoded& out,
                   std::size_t max_data = 1u << 20);

// Head frames that carry a resume point only, for code that knows no
// protobuf (the pump, the splice): Resume{received, received_fin} (the
// splice's mid-stream rewind) and Resumed{received, received_fin}.
std::string encode_resume_head(field which, stream::resume_point p);  // f_resume or f_resumed
struct resume_head {
    field which = f_resumed;
    stream::resume_point point;
};
// What a serialized head frame with a Resume or a Resumed says; nothing for
// any other frame, or a malformed one.
std::optional<resume_head> decode_resume_head(std::string_view serialized);

}  // namespace burrow::frame_codec
