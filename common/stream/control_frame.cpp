#include "common/stream/control_frame.hpp"

#include "burrow.pb.h"

namespace burrow::stream {

std::string serialize_control(const frame& f) {
    if (f.type == frame::kind::head) return f.text;
    v1::Frame error;
    error.set_error(f.text);
    return error.SerializeAsString();
}

void set_malformed(frame& out, std::string why) {
    out.clear();
    out.type = frame::kind::malformed;
    out.text = std::move(why);
}

void parse_control(std::string raw, bool head, frame& out) {
    v1::Frame parsed;
    if (raw.size() > max_control_frame || !parsed.ParseFromString(raw))
        return set_malformed(out, "malformed frame");
    if (head) {
        out.type = frame::kind::head;
        out.text = std::move(raw);
    } else {
        out.type = frame::kind::error;
        out.text = parsed.error().substr(0, 200);
    }
}

}  // namespace burrow::stream
