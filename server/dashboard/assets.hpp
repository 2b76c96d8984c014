// The dashboard's files (web/ and the chart library from web/node_modules),
// embedded into the binary at build time by cmake/embed_assets.cmake.
#pragma once

#include <span>
#include <string_view>

namespace burrow::dashboard {

struct asset {
    std::string_view path;  // "/index.html"
    std::string_view type;  // Content-Type
    std::string_view body;
    std::string_view gzip;  // the body gzip'd; empty when that is no smaller
    std::string_view etag;  // "\"<16 hex of SHA-256>\""
};

std::span<const asset> embedded_assets();

}  // namespace burrow::dashboard
