// Host names, domains and locations as peers send them: the checks that the
// config (proxy definitions) and the server's vhost router share, so a name is
// judged by one rule in both places, and how such values are printed.
// Pure code: unit tests feed it strings.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace burrow {

// Longest raw Host value we look at: a 253-character name, a trailing dot and ":65535".
inline constexpr std::size_t max_host_header = 260;

// Normalizes a Host header value: lowercase, no port, no trailing dot, IPv6 literals without
// their brackets ("[::1]:80" -> "::1"). Returns false (and clears `out`) when the value is
// malformed or over-long, so the listener can answer 400 rather than 404.
bool normalize_host(std::string_view raw, std::string& out);

// A registered domain, normalised: "*.Example.com." is {true, "example.com"}.
struct domain_name {
    bool wildcard = false;
    std::string name;  // for a wildcard, the part after "*."

    std::string shown() const { return wildcard ? "*." + name : name; }
    bool operator==(const domain_name&) const = default;
};

// Normalizes a registered domain into `out`; "" or why it cannot be routed.
std::string domain_problem(std::string_view raw, domain_name& out);
// Lowercases and drops one trailing dot, the same for registered names and Host values so
// both meet in one table. False when `raw` is too long to be a name (checked before copying).
bool lowercase_name(std::string_view raw, std::string& out);

// "" when a custom domain ("nas.example.com", "*.example.com") or a subdomain label can be
// registered, else why not; config loading and the server use the same checks.
std::string custom_domain_problem(std::string_view domain);
std::string location_problem(std::string_view location);

// Values from peers end up in logs and replies: this escapes what is not plain printable
// ASCII and cuts them short.
std::string printable(std::string_view s);

}  // namespace burrow
