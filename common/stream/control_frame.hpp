// Head and error frames on the wire, the same on every carrier: a head
// frame's text is already a serialized burrow.v1.Frame; an error frame is a
// Frame with only its error set. Rare and small, so protobuf does the work.
#pragma once

#include <cstddef>
#include <string>

#include "common/stream/frame.hpp"

namespace burrow::stream {

// Head and error frames larger than this are not ours.
inline constexpr std::size_t max_control_frame = 16u << 10;

// `f` is a head or error frame.
std::string serialize_control(const frame& f);
// `raw` is a whole frame that frame_codec::decode found a head field
// (`head`) or an error field in; `out` becomes that frame, or malformed.
void parse_control(std::string raw, bool head, frame& out);
// `out` becomes a malformed frame saying `why`.
void set_malformed(frame& out, std::string why);

}  // namespace burrow::stream
