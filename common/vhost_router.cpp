#include "common/vhost_router.hpp"

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
bool is_scheme_char(char c) {
    char l = to_lower(c);
    return (l >= 'a' && l <= 'z') || is_digit(c) || c == '+' || c == '-' || c == '.';
}

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

// Lowercases and drops one trailing dot, the same for registered names and Host values so
// both meet in one table. False when `raw` is too long to be a name (checked before copying).
bool lowercase_name(std::string_view raw, std::string& out) {
    if (raw.size() > max_name_length + 1) return false;
    out.resize(raw.size());
    std::transform(raw.begin(), raw.end(), out.begin(), to_lower);
    if (!out.empty() && out.back() == '.') out.pop_back();
    return true;
}

struct domain {
    bool wildcard = false;
    std::string name;  // for a wildcard, the part after "*."

    std::string shown() const { return wildcard ? "*." + name : name; }
    bool operator==(const domain&) const = default;
};

// Normalizes a registered domain into `out`; "" or why it cannot be routed.
std::string domain_problem(std::string_view raw, domain& out) {
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

}  // namespace

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
    domain ignored;
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

// The path of a request target, without query or fragment. Origin-form "/a?q" gives "/a";
// absolute-form "http://h/a?q" (which servers must accept, RFC 9112 3.2.2) gives "/a";
// anything else, such as asterisk-form "*", is routed as "/".
std::string_view request_path(std::string_view target) {
    if (!target.starts_with('/')) {
        auto scheme_end = target.find("://");
        if (scheme_end == std::string_view::npos || scheme_end == 0 ||
            !std::all_of(target.begin(), target.begin() + static_cast<std::ptrdiff_t>(scheme_end),
                         is_scheme_char))
            return "/";
        auto path_start = target.find_first_of("/?#", scheme_end + 3);
        if (path_start == std::string_view::npos || target[path_start] != '/') return "/";
        target.remove_prefix(path_start);
    }
    return target.substr(0, target.find_first_of("?#"));
}

// Segment-wise prefix: "/api" matches "/api" and "/api/x" but not "/apiary"; a location
// ending in '/' ("/", "/api/") matches everything below it. A segment's parameters count
// as the segment: "/api" also matches "/api;v=1/x", which Tomcat and the like serve as
// "/api/x".
bool location_matches(std::string_view location, std::string_view path) {
    if (!path.starts_with(location)) return false;
    return location.back() == '/' || path.size() == location.size() ||
           path[location.size()] == '/' || path[location.size()] == ';';
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

vhost_router::vhost_router(std::string subdomain_host) {
    // Normalized like any registered name; if it is not a valid name, every subdomain
    // registration fails with a message naming the resulting domain.
    if (!lowercase_name(subdomain_host, subdomain_host_)) subdomain_host_ = subdomain_host;
}

const std::string* vhost_router::holder(const route_key& key) const {
    const auto& tbl = key.wildcard ? wildcards_ : exact_;
    auto it = tbl.find(key.domain);
    if (it == tbl.end()) return nullptr;
    for (const auto& r : it->second)
        if (r.location == key.location) return &r.proxy;
    return nullptr;
}

std::string vhost_router::add(const vhost_route_spec& spec, const replaceable_fn& replaceable,
                              std::vector<std::string>* evicted) {
    const std::string proxy = printable(spec.proxy);
    if (spec.proxy.empty()) return "proxy name is empty";
    if (by_proxy_.contains(spec.proxy))
        return fmt::format("proxy '{}' is already registered", proxy);

    // Bound the work before looking at any entry: the spec comes from a client.
    const std::size_t domain_count =
        spec.custom_domains.size() + (spec.subdomain.empty() ? 0 : 1);
    const std::size_t location_count = std::max<std::size_t>(spec.locations.size(), 1);
    if (domain_count > max_routes_per_proxy || location_count > max_routes_per_proxy ||
        domain_count * location_count > max_routes_per_proxy)
        return fmt::format("proxy '{}' asks for {} domains x {} locations; at most {} routes are "
                           "allowed per proxy",
                           proxy, domain_count, location_count, max_routes_per_proxy);

    std::vector<domain> domains;
    auto add_domain = [&](domain d) {
        if (std::find(domains.begin(), domains.end(), d) == domains.end())
            domains.push_back(std::move(d));
    };
    for (const auto& raw : spec.custom_domains) {
        domain d;
        if (auto problem = domain_problem(raw, d); !problem.empty())
            return fmt::format("custom domain \"{}\": {}", printable(raw), problem);
        add_domain(std::move(d));
    }
    if (!spec.subdomain.empty()) {
        const std::string sub = printable(spec.subdomain);
        if (subdomain_host_.empty())
            return fmt::format("subdomain \"{}\" cannot be used: the server has no "
                               "subdomain_host",
                               sub);
        if (spec.subdomain.find_first_of(".*") != std::string::npos)
            return fmt::format("subdomain \"{}\" must be a single label such as \"nas\" (no '.' "
                               "or '*')",
                               sub);
        const std::string full = spec.subdomain + "." + subdomain_host_;
        domain d;
        if (auto problem = domain_problem(full, d); !problem.empty())
            return fmt::format("subdomain \"{}\" (domain \"{}\"): {}", sub, printable(full),
                               problem);
        add_domain(std::move(d));
    }
    if (domains.empty())
        return fmt::format("proxy '{}' has no domain: set custom_domains or subdomain", proxy);

    std::vector<std::string> locations;
    for (const auto& location : spec.locations) {
        if (auto problem = location_problem(location); !problem.empty())
            return fmt::format("location \"{}\": {}", printable(location), problem);
        if (std::find(locations.begin(), locations.end(), location) == locations.end())
            locations.push_back(location);
    }
    if (locations.empty()) locations.emplace_back("/");

    // All checks before any change, so a refused proxy leaves no partial routes behind.
    std::vector<route_key> keys;
    std::vector<std::string> evict;
    keys.reserve(domains.size() * locations.size());
    for (const auto& d : domains)
        for (const auto& location : locations) {
            route_key key{d.wildcard, d.name, location};
            if (const auto* other = holder(key)) {
                if (!replaceable || !replaceable(*other))
                    return fmt::format("domain {} location {} is already used by proxy '{}'",
                                       d.shown(), location, printable(*other));
                if (std::find(evict.begin(), evict.end(), *other) == evict.end())
                    evict.push_back(*other);
            }
            keys.push_back(std::move(key));
        }
    for (const auto& name : evict) remove(name);
    if (evicted != nullptr) *evicted = std::move(evict);

    for (const auto& key : keys) {
        auto& routes = table(key.wildcard)[key.domain];
        // Longest first, so route() can stop at the first match.
        auto pos = std::upper_bound(routes.begin(), routes.end(), key.location.size(),
                                    [](std::size_t len, const location_route& r) {
                                        return len > r.location.size();
                                    });
        routes.insert(pos, location_route{key.location, spec.proxy});
    }
    size_ += keys.size();
    by_proxy_.emplace(spec.proxy, std::move(keys));
    return "";
}

void vhost_router::remove(std::string_view proxy) {
    auto it = by_proxy_.find(proxy);
    if (it == by_proxy_.end()) return;
    for (const auto& key : it->second) {
        auto& tbl = table(key.wildcard);
        auto routes = tbl.find(key.domain);
        if (routes == tbl.end()) continue;
        std::erase_if(routes->second,
                      [&](const location_route& r) { return r.location == key.location; });
        if (routes->second.empty()) tbl.erase(routes);
    }
    size_ -= it->second.size();
    by_proxy_.erase(it);
}

const std::string* vhost_router::route(std::string_view raw_host, std::string_view target) const {
    std::string host;
    // An IPv6 literal normalizes fine but contains ':', which no registered name can.
    if (!normalize_host(raw_host, host) || host.find(':') != std::string::npos) return nullptr;
    const auto path = request_path(target);

    auto match = [&](const string_map<domain_routes>& tbl,
                     std::string_view name) -> const std::string* {
        auto it = tbl.find(name);
        if (it == tbl.end()) return nullptr;
        for (const auto& r : it->second)
            if (location_matches(r.location, path)) return &r.proxy;
        return nullptr;
    };

    if (const auto* proxy = match(exact_, host)) return proxy;
    // "a.b.example.com" tries "*.b.example.com", "*.example.com", "*.com": most specific first,
    // and never the host itself, so a wildcard always needs one more label.
    const std::string_view name = host;
    for (auto dot = name.find('.'); dot != std::string_view::npos; dot = name.find('.', dot + 1))
        if (const auto* proxy = match(wildcards_, name.substr(dot + 1))) return proxy;
    return nullptr;
}

}  // namespace burrow
