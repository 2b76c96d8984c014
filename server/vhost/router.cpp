#include "server/vhost/router.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "common/host_names.hpp"

namespace burrow::vhost {
namespace {

char to_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_scheme_char(char c) {
    char l = to_lower(c);
    return (l >= 'a' && l <= 'z') || is_digit(c) || c == '+' || c == '-' || c == '.';
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

router::router(std::string subdomain_host) {
    // Normalized like any registered name; if it is not a valid name, every subdomain
    // registration fails with a message naming the resulting domain.
    if (!lowercase_name(subdomain_host, subdomain_host_)) subdomain_host_ = subdomain_host;
}

const std::string* router::holder(const route_key& key) const {
    const auto& tbl = key.wildcard ? wildcards_ : exact_;
    auto it = tbl.find(key.domain);
    if (it == tbl.end()) return nullptr;
    for (const auto& r : it->second)
        if (r.location == key.location) return &r.proxy;
    return nullptr;
}

std::string router::add(const route_spec& spec, const replaceable_fn& replaceable,
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

    std::vector<domain_name> domains;
    auto add_domain = [&](domain_name d) {
        if (std::find(domains.begin(), domains.end(), d) == domains.end())
            domains.push_back(std::move(d));
    };
    for (const auto& raw : spec.custom_domains) {
        domain_name d;
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
        domain_name d;
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

void router::remove(std::string_view proxy) {
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

const std::string* router::route(std::string_view raw_host, std::string_view target) const {
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

}  // namespace burrow::vhost
