#include "common/config/checks.hpp"

#include <algorithm>
#include <cctype>
#include <iterator>

#include <fmt/format.h>

#include "common/host_names.hpp"

namespace burrow {

namespace {

// Parses a decimal port 1..65535: digits only, so "+80", " 80" and "0x50" are malformed.
std::optional<std::uint16_t> parse_port(std::string_view s) {
    if (s.empty() || s.size() > 5) return std::nullopt;
    std::uint32_t value = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<std::uint32_t>(c - '0');
    }
    if (value < 1 || value > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

bool is_ascii_alnum(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// RFC 9110 tchar; spelt out in ASCII so that no locale can widen it.
bool is_token_char(char c) {
    return is_ascii_alnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

std::string port_range_problem(std::string_view spec, port_range& out) {
    const auto dash = spec.find('-');
    const auto first_text = spec.substr(0, dash);
    const auto last_text = dash == std::string_view::npos ? first_text : spec.substr(dash + 1);
    const auto first = parse_port(first_text);
    const auto last = parse_port(last_text);
    if (!first || !last) {
        return fmt::format(
            "malformed port range \"{}\" (expected a port 1..65535 like \"7022\" or a range like "
            "\"6000-6100\")",
            spec);
    }
    if (*first > *last) {
        return fmt::format("port range \"{}\" is empty: {} is greater than {}", spec, *first, *last);
    }
    out = {*first, *last};
    return "";
}

bool parse_port_range(std::string_view spec, port_range& out) {
    return port_range_problem(spec, out).empty();
}

std::string name_problem(std::string_view name) {
    if (name.empty()) return "must not be empty";
    if (name.size() > 64) return fmt::format("is {} characters long; at most 64 are allowed", name.size());
    for (char c : name) {
        if (!is_ascii_alnum(c) && c != '.' && c != '_' && c != '-')
            return fmt::format("\"{}\" may only contain letters, digits, '.', '_' and '-'", name);
    }
    return "";
}

std::string header_problem(std::string_view name, std::string_view value) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char))
        return "is not a valid header name";
    static constexpr std::string_view reserved[] = {
        "connection", "content-length", "transfer-encoding", "upgrade", "te",
        "trailer", "keep-alive", "proxy-connection", "host"};
    std::string lower(name);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (std::find(std::begin(reserved), std::end(reserved), lower) != std::end(reserved))
        return lower == "host" ? "cannot be set here; use host_header_rewrite"
                               : "frames the message and cannot be set";
    for (char c : value) {
        if (c == '\r' || c == '\n' || c == '\0') return "value contains a line break or NUL";
    }
    return "";
}

std::string host_header_problem(std::string_view value) {
    if (value.size() > 255) return "is longer than 255 bytes";
    for (char c : value)
        if (c <= ' ' || c == '\x7f') return "may hold only visible ASCII (no spaces, line breaks or NUL)";
    return "";
}

std::string log_level_problem(std::string_view level) {
    static constexpr std::string_view levels[] = {"trace", "debug", "info", "warn", "error", "off"};
    if (std::find(std::begin(levels), std::end(levels), level) != std::end(levels)) return "";
    return fmt::format("unknown log level \"{}\" (expected trace, debug, info, warn, error or off)",
                       level);
}

std::string subdomain_host_problem(std::string_view domain) {
    auto problem = custom_domain_problem(domain);
    if (problem.empty() && domain.starts_with("*")) return "must be a plain domain such as example.com";
    return problem;
}

std::string subdomain_problem(std::string_view label) {
    if (label.find('.') != std::string_view::npos) return "must be a single label such as \"nas\"";
    return custom_domain_problem(label);
}

std::optional<std::string> normalize_fingerprint(std::string_view text) {
    constexpr std::string_view prefix = "sha256:";
    if (text.size() < prefix.size()) return std::nullopt;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return std::nullopt;
    }
    auto digits = text.substr(prefix.size());
    const bool colons = digits.size() == 64 + 31;
    if (!colons && digits.size() != 64) return std::nullopt;

    std::string out(prefix);
    for (std::size_t i = 0; i < digits.size(); ++i) {
        const char c = digits[i];
        if (colons && i % 3 == 2) {
            if (c != ':') return std::nullopt;
            continue;
        }
        if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

}  // namespace burrow
