// The rules config values follow, as plain functions of a string: no TOML and no
// I/O, so unit tests feed them strings and the server applies the very same rule
// to what a client registers (one rule, one strictness: a server is never looser
// than the client's config for the same value).
//
// A *_problem() function returns "" when the value is fine, else why not, worded
// to follow the key in a problem line ("must not be empty").
//
// Custom domains and locations are checked by custom_domain_problem() and
// location_problem() in common/host_names.hpp, which the router itself uses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace burrow {

// An inclusive range of TCP ports; a single port has first == last.
struct port_range {
    std::uint16_t first = 0;
    std::uint16_t last = 0;
    bool contains(std::uint16_t p) const noexcept { return p >= first && p <= last; }
    bool operator==(const port_range&) const = default;
};

// Parses "6000-6100" or "7022" (decimal ports 1..65535, digits only) into `out`;
// on a malformed spec `out` is left alone and the reason returned.
std::string port_range_problem(std::string_view spec, port_range& out);
// The same without the reason: false on a malformed spec.
bool parse_port_range(std::string_view spec, port_range& out);

// Proxy names and client ids appear in logs, metrics and the dashboard, so they
// are kept to a small, unambiguous alphabet: 1 to 64 of A-Z a-z 0-9 . _ -
// (ASCII whatever the locale). The server checks registered names with it too.
std::string name_problem(std::string_view name);

// A header a proxy may set on requests or responses: a valid name (an RFC 9110
// token), a value without CR, LF or NUL, and none of the headers that frame or
// route the message (Connection, Content-Length, Transfer-Encoding, Host, ...).
// The server checks registered headers with it too: a proxy never sets framing.
std::string header_problem(std::string_view name, std::string_view value);
// host_header_rewrite: what the Host line sent to the service holds (a host,
// maybe with a port): visible ASCII only, at most 255 bytes.
std::string host_header_problem(std::string_view value);

// trace, debug, info, warn, error or off.
std::string log_level_problem(std::string_view level);

// The server's subdomain_host: a plain domain such as example.com (no wildcard).
std::string subdomain_host_problem(std::string_view domain);
// A proxy's subdomain: one label such as "nas".
std::string subdomain_problem(std::string_view label);

// "sha256:" + 64 hex digits, bare or colon-separated in pairs, any case, as
// "sha256:" + 64 lowercase hex digits; nullopt when malformed.
std::optional<std::string> normalize_fingerprint(std::string_view text);

}  // namespace burrow
