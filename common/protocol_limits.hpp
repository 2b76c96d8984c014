// Bounds that proto/burrow.proto states and both programs keep: one
// constant each, so the client and the server cannot drift apart.
#pragma once

#include <cstddef>
#include <cstdint>

namespace burrow::protocol {

// Work streams a client opens for one NewWork; a server that wants more
// asks in several.
inline constexpr std::uint32_t max_new_work = 256;
// Sessions one DirectReport lists; the server keeps no more per client.
inline constexpr std::size_t max_direct_report = 256;

}  // namespace burrow::protocol
