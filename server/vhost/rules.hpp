// What the HTTP vhost accepts from users and services, as pure functions:
// request framing, request targets and paths, hop-by-hop headers, basic auth.
// No I/O and no Beast here, so unit tests feed them strings.
//
// The rules follow RFC 9110/9112 and what nginx and haproxy do as front ends;
// the README's HTTP section lists them for users.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace burrow::vhost {

// The framing headers of one message, as the parser saw them.
struct framing_fields {
    int version = 11;                 // 10 or 11
    std::size_t te_count = 0;         // Transfer-Encoding lines
    std::size_t cl_count = 0;         // Content-Length lines
    std::string_view te, cl;          // the first of each
};

// "" when a request's length is unambiguous for every reader, else why not.
// Only a single final `chunked`, on HTTP/1.1, never together with
// Content-Length, and at most one Content-Length of plain digits: everything
// else is refused (400), so a service that frames differently from Burrow
// never gets the message (RFC 9112 6.1, 6.3).
std::string_view request_framing_problem(const framing_fields& f);
// The same for a service's response (refused with 502): a Transfer-Encoding
// that does not end in chunked means "until the connection closes", which is
// unambiguous; chunked together with Content-Length, chunked twice and a
// Content-Length list are not.
std::string_view response_framing_problem(const framing_fields& f);

// A request target, split and normalised for routing and forwarding.
struct request_target {
    std::string authority;  // of an absolute-form target ("nas.example.com:80"); "" otherwise
    std::string path;       // normalised, starts with '/'
    std::string_view query; // without '?', as it came (a view into the target)
    bool has_query = false;
    bool asterisk = false;  // "*" (OPTIONS): forwarded as it came, routed as "/"
    // What goes upstream: origin-form, the normalised path and the query.
    std::string origin_form() const;
};

// Splits `target` (origin-form "/p?q", absolute-form "http://h/p?q", or "*")
// into `out`; "" or why it is refused (400). The path is normalised as
// RFC 3986 6.2.2 says: escapes of unreserved characters decoded ("%61" is
// "a", "%2E" is "."), dot segments removed, and runs of '/' merged, so that
// locations match what the service will serve. An encoded '/' or '\', a raw
// '\', an encoded NUL and a broken escape are refused: a service may or may
// not decode them, so no location can be matched safely; so is a segment
// whose name before ';' is empty or a dot segment ("/..;/", "/;x/"), which
// servlet containers resolve after dropping the parameters.
std::string_view parse_request_target(std::string_view target, request_target& out);

// The normalisation above for a path alone (no query). Exposed for tests.
std::string_view normalize_path(std::string_view raw, std::string& out);

// Hop-by-hop fields that never go on to the service (RFC 9110 7.6.1), besides
// the ones a request's Connection header names. Upgrade is one unless the
// request really upgrades.
bool is_hop_by_hop(std::string_view name);
// Fields a Connection header may not remove, because the message's framing
// or routing depends on them: such tokens are ignored.
bool is_protected_field(std::string_view name);
// Field names with '_' are dropped (as nginx does): CGI-style services map
// both X_Real_IP and X-Real-IP to HTTP_X_REAL_IP, so one could shadow the other.
inline bool has_underscore(std::string_view name) { return name.find('_') != name.npos; }

// Whether the Authorization value a user sent carries the same Basic
// credentials as `expected` ("Basic " + base64 of "user:password"): the
// scheme is case-insensitive (RFC 9110 11.1), and the credentials are
// compared in constant time.
bool basic_credentials_match(std::string_view authorization, std::string_view expected);

}  // namespace burrow::vhost
