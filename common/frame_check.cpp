#include "common/frame_check.hpp"

#include <fmt/format.h>

namespace burrow {

std::string inbound_stream::accept(std::uint64_t offset, std::size_t size, bool fin) {
    if (fin_) return "data after fin";
    if (size > max_frame_data)
        return fmt::format("frame of {} bytes exceeds the {} byte limit", size, max_frame_data);
    if (offset != received_)
        return fmt::format("frame offset {} does not continue the stream at {}", offset,
                           received_);
    received_ += size;
    fin_ = fin;
    return {};
}

}  // namespace burrow
