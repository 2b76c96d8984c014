// frame: one unit of a session's byte stream on a carrier, the same on every
// transport (a gRPC Work/Visit stream today, a QUIC stream next).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/container/small_vector.hpp>

#include "common/stream/chunk.hpp"

namespace burrow::stream {

// Largest payload one frame may carry. Senders use up to max_chunk.
inline constexpr std::size_t max_frame_data = 1u << 20;
// What a sender reads from a socket into one frame.
inline constexpr std::size_t max_chunk = 256u << 10;

// A frame's payload: one chunk as a rule (kept inline), two when a socket read
// filled the first. Inline room for one only: every byte of a pump counts in
// the memory an idle connection costs, and slots keep their capacity.
using pieces = boost::container::small_vector<chunk, 1>;

// How much of a session's stream one end holds: where a re-attach or a
// rewind (pump_resume.cpp, splice.hpp) starts the replay.
struct resume_point {
    std::uint64_t received = 0;
    bool fin = false;
};

struct frame {
    enum class kind : std::uint8_t {
        data,       // `data` at `offset`, then fin if set; ack either way
        head,       // a hello or start: `text` holds the serialized frame
        error,      // the peer's reason for ending: `text`
        malformed,  // what the carrier could not decode: `text` says why
    };
    kind type = kind::data;
    bool fin = false;
    std::uint64_t offset = 0;  // of the first payload byte in the stream
    // Bytes of the other direction that reached the sender's end, plus one
    // once that direction's fin did.
    std::uint64_t ack = 0;
    std::size_t size = 0;      // payload bytes in `data`
    pieces data;
    std::string text;

    // Back to a fresh frame, keeping capacity.
    void clear() {
        type = kind::data;
        fin = false;
        offset = ack = 0;
        size = 0;
        data.clear();
        text.clear();
    }
};

}  // namespace burrow::stream
