// Picks the `type = "http"` proxy that serves a request on the vhost port, by Host and path
// (and the `https` proxy for a TLS server name). Pure code: the listeners parse the request
// and hand us the Host value (or SNI) and target. The name checks it applies live in
// common/host_names, which the config shares.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace burrow::vhost {

// What one http proxy asks for.
struct route_spec {
    std::string proxy;                        // proxy name, unique per server
    std::vector<std::string> custom_domains;  // "nas.example.com" or "*.example.com"
    std::string subdomain;                    // "nas" = "nas.<subdomain_host>"; "" = none
    std::vector<std::string> locations;       // path prefixes; empty = {"/"}
};

// A single registration may not make us store more (domains x locations) than this.
inline constexpr std::size_t max_routes_per_proxy = 1024;

// Domains: an exact name beats any wildcard, and among wildcards the longest suffix wins
// ("*.example.com" matches names with at least one more label, never "example.com" itself).
// Within a domain the longest location wins; locations match whole path segments ("/api"
// matches "/api", "/api/x" and "/api?q", not "/apiary"). As in frp, a domain without a
// matching location falls through to the next wildcard, so an exact "nas.example.com" that
// only serves "/api" leaves its other paths to "*.example.com".
//
// Used from one strand; no locking inside.
class router {
public:
    // `subdomain_host` is the server's domain for `subdomain` registrations ("example.com");
    // empty means subdomain registrations are refused.
    explicit router(std::string subdomain_host);

    // Registers all of `spec`'s (domain, location) routes, or none of them: returns "" on
    // success, else a message for the registering client (nothing was added then). A pair
    // already held by another proxy is a conflict for the newcomer only, unless
    // `replaceable(holder)` says the holder may be pushed out (an offline client's proxy):
    // then all of the holder's routes go, and its name is added to `evicted`.
    using replaceable_fn = std::function<bool(const std::string& proxy)>;
    std::string add(const route_spec& spec, const replaceable_fn& replaceable = {},
                    std::vector<std::string>* evicted = nullptr);
    // Drops every route of `proxy`; unknown names are ignored.
    void remove(std::string_view proxy);

    // The name of the proxy serving `host` (a raw Host header value) and `target` (the
    // request target; its query string is ignored), or nullptr. The pointer stays valid until
    // the next add() or remove(). For an absolute-form target the caller chooses which host
    // to pass; only the target's path is used here.
    const std::string* route(std::string_view host, std::string_view target) const;

    // Number of (domain, location) routes.
    std::size_t size() const { return size_; }

private:
    struct location_route {
        std::string location;
        std::string proxy;
    };
    using domain_routes = std::vector<location_route>;  // longest location first

    struct route_key {
        bool wildcard;
        std::string domain;  // for a wildcard, the part after "*."
        std::string location;
    };

    // Lets lookups take the string_views route() works with, without allocating.
    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    template <class V>
    using string_map = std::unordered_map<std::string, V, string_hash, std::equal_to<>>;

    string_map<domain_routes>& table(bool wildcard) { return wildcard ? wildcards_ : exact_; }
    const std::string* holder(const route_key& key) const;

    std::string subdomain_host_;
    string_map<domain_routes> exact_;
    string_map<domain_routes> wildcards_;  // "*.example.com" is stored as "example.com"
    string_map<std::vector<route_key>> by_proxy_;  // what remove() has to take out again
    std::size_t size_ = 0;
};

}  // namespace burrow::vhost
