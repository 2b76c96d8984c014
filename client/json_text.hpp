// A string as a JSON string literal, for the admin API's answers.
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

namespace burrow {

inline std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20) {
            out += fmt::format("\\u{:04x}", u);
        } else {
            out += c;
        }
    }
    return out + "\"";
}

}  // namespace burrow
