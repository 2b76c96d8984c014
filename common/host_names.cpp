#include "common/host_names.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace burrow {
namespace {

constexpr std::size_t max_name_length = 253;  // RFC 1035, without the trailing dot
constexpr std::size_t max_label_length = 63;
constexpr std::size_t max_ipv6_literal = 45;  // "ffff:...:ffff:255.255.255.255"
constexpr std::size_t max_port_digits = 5;
constexpr unsigned max_port = 65535;
constexpr std::size_t max_location_length = 1024;
constexpr std::size_t max_shown = 80;  // of a rejected value, in an error message

char to_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (to_lower(c) >= 'a' && to_lower(c) <= 'f'); }

}  // namespace

std::string printable(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, max_shown)) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u >= 0x7f || c == '"' || c == '\'' || c == '\\')
            out += fmt::format("\\x{:02x}", u);
        else
            out += c;
    }
    if (s.size() > max_shown) out += "...";
    return out;
}

namespace {

// "" when `name` (lowercase, trailing dot already dropped) is a name we can route, else why not.
std::string dns_name_problem(std::string_view name) {
    if (name.empty()) return "it is empty";
    if (name.size() > max_name_length)
        return fmt::format("it is longer than {} characters", max_name_length);
    std::size_t label = 0;
    for (char c : name) {
        if (c == '.') {
            if (label == 0) return "it has an empty label";
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || is_digit(c) || c == '-') {
            if (++label > max_label_length)
                return fmt::format("a label is longer than {} characters", max_label_length);
        } else if (c == '*') {
            return "a wildcard must be the whole first label, as in *.example.com";
        } else if (static_cast<unsigned char>(c) >= 0x80) {
            return "non-ASCII characters are not allowed (write international names in "
                   "punycode, xn--...)";
        } else {
            return fmt::format("character '{}' is not allowed", printable({&c, 1}));
        }
    }
    if (label == 0) return "it has an empty label";
    return "";
}

}  // namespace

bool lowercase_name(std::string_view raw, std::string& out) {
    if (raw.size() > max_name_length + 1) return false;
    out.resize(raw.size());
    std::transform(raw.begin(), raw.end(), out.begin(), to_lower);
    if (!out.empty() && out.back() == '.') out.pop_back();
    return true;
}

std::string domain_problem(std::string_view raw, domain_name& out) {
    std::string name;
    if (!lowercase_name(raw, name))
        return fmt::format("it is longer than {} characters", max_name_length);
    if (name == "*")
        return "a bare \"*\" would catch every host; use a wildcard such as *.example.com";
    out.wildcard = name.starts_with("*.");
    if (out.wildcard) {
        if (name.size() > max_name_length)
            return fmt::format("it is longer than {} characters", max_name_length);
        name.erase(0, 2);
    }
    out.name = std::move(name);
    return dns_name_problem(out.name);
}

std::string location_problem(std::string_view location) {
    if (!location.starts_with('/')) return "it must start with '/'";
    if (location.size() > max_location_length)
        return fmt::format("it is longer than {} characters", max_location_length);
    for (char c : location) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f)
            return "spaces, control and non-ASCII characters are not allowed (percent-encode "
                   "them)";
        if (c == '?' || c == '#')
            return "it is a path prefix and cannot contain '?' or '#' (the query is never "
                   "matched)";
    }
    return "";
}

std::string custom_domain_problem(std::string_view raw) {
    domain_name ignored;
    return domain_problem(raw, ignored);
}

namespace {

// An optional ":port" after a host; the port may be empty, as RFC 3986 allows.
bool valid_port_suffix(std::string_view s) {
    if (s.empty()) return true;
    if (s.front() != ':') return false;
    s.remove_prefix(1);
    if (s.size() > max_port_digits) return false;
    unsigned port = 0;
    for (char c : s) {
        if (!is_digit(c)) return false;
        port = port * 10 + static_cast<unsigned>(c - '0');
    }
    return port <= max_port;
}

}  // namespace

bool normalize_host(std::string_view raw, std::string& out) {
    out.clear();
    if (raw.empty() || raw.size() > max_host_header) return false;

    if (raw.front() == '[') {
        // An IPv6 literal. No domain can name it, but a browser may well send one.
        auto close = raw.find(']');
        if (close == std::string_view::npos || !valid_port_suffix(raw.substr(close + 1)))
            return false;
        auto literal = raw.substr(1, close - 1);
        if (literal.empty() || literal.size() > max_ipv6_literal ||
            literal.find(':') == std::string_view::npos)
            return false;
        for (char c : literal)
            if (!is_hex(c) && c != ':' && c != '.') return false;
        out.resize(literal.size());
        std::transform(literal.begin(), literal.end(), out.begin(), to_lower);
        return true;
    }

    auto colon = raw.find(':');
    if (colon != std::string_view::npos) {
        if (!valid_port_suffix(raw.substr(colon))) return false;
        raw = raw.substr(0, colon);
    }
    if (!lowercase_name(raw, out) || !dns_name_problem(out).empty()) {
        out.clear();
        return false;
    }
    return true;
}

}  // namespace burrow
