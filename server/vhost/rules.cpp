#include "server/vhost/rules.hpp"

#include <array>

#include <openssl/crypto.h>

namespace burrow::vhost {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

bool is_unreserved(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

// Calls `f` with each element of a comma-separated list, trimmed (empty ones too).
template <class F>
void for_each_element(std::string_view list, F&& f) {
    for (;;) {
        const auto comma = list.find(',');
        f(trim(list.substr(0, comma)));
        if (comma == std::string_view::npos) return;
        list.remove_prefix(comma + 1);
    }
}

std::string_view content_length_problem(const framing_fields& f) {
    if (f.cl_count > 1) return "more than one Content-Length";
    if (f.cl_count == 1 && !all_digits(trim(f.cl))) return "a Content-Length that is not a number";
    return {};
}

}  // namespace

std::string_view request_framing_problem(const framing_fields& f) {
    if (f.te_count > 0) {
        if (f.version < 11) return "Transfer-Encoding on HTTP/1.0";
        if (f.te_count > 1) return "more than one Transfer-Encoding";
        if (!iequals(trim(f.te), "chunked")) return "a Transfer-Encoding other than chunked";
        if (f.cl_count > 0) return "both Transfer-Encoding and Content-Length";
    }
    return content_length_problem(f);
}

std::string_view response_framing_problem(const framing_fields& f) {
    if (f.te_count > 0) {
        if (f.te_count > 1) return "more than one Transfer-Encoding";
        // chunked may only be the last coding, and only once.
        std::size_t codings = 0, chunked_at = 0, chunked = 0;
        bool empty = false;
        for_each_element(f.te, [&](std::string_view coding) {
            ++codings;
            if (coding.empty()) empty = true;
            if (iequals(coding, "chunked")) {
                ++chunked;
                chunked_at = codings;
            }
        });
        if (empty) return "an empty Transfer-Encoding element";
        if (chunked > 1 || (chunked == 1 && chunked_at != codings))
            return "chunked that is not the single last coding";
        if (f.cl_count > 0) return "both Transfer-Encoding and Content-Length";
    }
    return content_length_problem(f);
}

std::string request_target::origin_form() const {
    if (asterisk) return "*";
    if (!has_query) return path;
    std::string out;
    out.reserve(path.size() + 1 + query.size());
    out.append(path).append(1, '?').append(query);
    return out;
}

std::string_view normalize_path(std::string_view raw, std::string& out) {
    out.clear();
    if (raw.empty() || raw.front() != '/') return "the path does not start with '/'";
    // Most paths are normal already: one scan, one copy.
    if (raw.find_first_of("%\\#;") == std::string_view::npos &&
        raw.find("//") == std::string_view::npos && raw.find("/.") == std::string_view::npos) {
        out.assign(raw);
        return {};
    }
    // Decoded first (only what is unreserved), then dot segments and empty
    // segments are resolved on the decoded text.
    std::string decoded;
    decoded.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const char c = raw[i];
        if (c == '\\') return "a backslash in the path";
        if (c == '#') return "a fragment in the request target";
        if (c != '%') {
            decoded += c;
            continue;
        }
        if (i + 2 >= raw.size()) return "a broken percent-escape in the path";
        const int hi = hex_value(raw[i + 1]), lo = hex_value(raw[i + 2]);
        if (hi < 0 || lo < 0) return "a broken percent-escape in the path";
        const auto value = static_cast<unsigned char>(hi * 16 + lo);
        if (value == '/' || value == '\\') return "an encoded slash in the path";
        if (value == 0) return "an encoded NUL in the path";
        if (is_unreserved(value))
            decoded += static_cast<char>(value);
        else
            decoded.append(raw.substr(i, 3));
        i += 2;
    }

    // RFC 3986 5.2.4 over segments; "" segments (from "//") are dropped too.
    out.reserve(decoded.size());
    std::string_view rest(decoded);
    bool trailing_slash = false;
    while (!rest.empty()) {
        rest.remove_prefix(1);  // the '/'
        const auto end = rest.find('/');
        const auto segment = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
        const bool last = rest.empty();
        // Servlet containers drop a segment's ";parameters" before they
        // resolve dots ("/x/..;/admin" is "/admin" to Tomcat): such a
        // segment's meaning depends on the service, so it is refused.
        if (const auto semicolon = segment.find(';'); semicolon != std::string_view::npos) {
            const auto name = segment.substr(0, semicolon);
            if (name.empty() || name == "." || name == "..")
                return "a path parameter on an empty or dot segment";
        }
        if (segment.empty() || segment == ".") {
            trailing_slash = last;
        } else if (segment == "..") {
            const auto cut = out.rfind('/');
            out.resize(cut == std::string::npos ? 0 : cut);
            trailing_slash = last;
        } else {
            out.append(1, '/').append(segment);
            trailing_slash = false;
        }
    }
    if (out.empty() || trailing_slash) out += '/';
    return {};
}

std::string_view parse_request_target(std::string_view target, request_target& out) {
    out = {};
    if (target == "*") {  // the caller checks that the method is OPTIONS
        out.asterisk = true;
        out.path = "/";
        return {};
    }
    if (!target.starts_with('/')) {
        // absolute-form: scheme "://" authority [path-abempty] ["?" query]
        const auto scheme_end = target.find("://");
        if (scheme_end == std::string_view::npos) return "a request target that is not a path";
        const auto scheme = target.substr(0, scheme_end);
        if (!iequals(scheme, "http") && !iequals(scheme, "https"))
            return "a request target with a scheme other than http";
        target.remove_prefix(scheme_end + 3);
        const auto authority_end = target.find_first_of("/?#");
        const auto authority = target.substr(0, authority_end);
        if (authority.empty()) return "a request target without a host";
        if (authority.find('@') != std::string_view::npos)
            return "a request target with user information";
        out.authority.assign(authority);
        target = authority_end == std::string_view::npos ? std::string_view()
                                                         : target.substr(authority_end);
        if (target.empty() || target.front() == '?') {
            out.path = "/";
            if (!target.empty()) {
                out.has_query = true;
                out.query = target.substr(1);
            }
            return out.query.find('#') == std::string_view::npos
                       ? std::string_view()
                       : std::string_view("a fragment in the request target");
        }
    }
    const auto q = target.find('?');
    if (q != std::string_view::npos) {
        out.has_query = true;
        out.query = target.substr(q + 1);
        if (out.query.find('#') != std::string_view::npos)
            return "a fragment in the request target";
    }
    return normalize_path(target.substr(0, q), out.path);
}

bool is_hop_by_hop(std::string_view name) {
    // Not Transfer-Encoding: a chunked body goes on as it came, with its header.
    static constexpr std::array<std::string_view, 6> names{
        "connection", "keep-alive", "proxy-connection", "te", "upgrade", "http2-settings"};
    for (auto n : names)
        if (iequals(name, n)) return true;
    return false;
}

bool is_protected_field(std::string_view name) {
    return iequals(name, "host") || iequals(name, "content-length") ||
           iequals(name, "transfer-encoding");
}

bool basic_credentials_match(std::string_view authorization, std::string_view expected) {
    // "Basic" 1*SP credentials; a missing or other scheme gives "".
    const auto credentials = [](std::string_view value) {
        value = trim(value);
        const auto space = value.find(' ');
        if (space == std::string_view::npos || !iequals(value.substr(0, space), "basic"))
            return std::string_view();
        return trim(value.substr(space + 1));
    };
    const auto given = credentials(authorization), wanted = credentials(expected);
    return !wanted.empty() && given.size() == wanted.size() &&
           CRYPTO_memcmp(given.data(), wanted.data(), wanted.size()) == 0;
}

}  // namespace burrow::vhost
