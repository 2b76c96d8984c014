// api: the dashboard's answers (DESIGN.md §7, README "Dashboard"): JSON under
// /api/v1/ and Prometheus text for /metrics, made from the live book's views.
// Pure functions; the JSON is built and parsed with Boost.JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/live.hpp"

namespace burrow::dashboard {

struct overview {
    live::totals_view totals;
    double uptime_seconds = 0;
    std::uint64_t dashboard_login_failures = 0;
    std::uint64_t heap_in_use = 0;  // bytes (heap_release.hpp)
};

std::string overview_json(const overview& o);
std::string clients_json(const std::vector<live::client_view>& clients);
std::string proxies_json(const std::vector<live::proxy_view>& proxies);
std::string sessions_json(const std::vector<live::session_view>& sessions);
std::string traffic_json(const std::string& proxy, const live::traffic_view& t);
// {"error": message}
std::string error_json(std::string_view message);
// {"auth":..., "user":..., "csrf":...}
std::string session_json(std::string_view auth, std::string_view user, std::string_view csrf);
// {"csrf":...}
std::string login_json(std::string_view csrf);

// /metrics in the Prometheus text format (version 0.0.4).
std::string metrics_text(const overview& o, const std::vector<live::client_view>& clients,
                         const std::vector<live::proxy_view>& proxies);

// {"user": "...", "password": "..."} -> the two, or nullopt.
struct credentials {
    std::string user, password;
};
std::optional<credentials> parse_login(std::string_view body);

}  // namespace burrow::dashboard
