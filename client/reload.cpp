#include "client/reload.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace burrow {

namespace {

template <class T>
const T* named(const std::vector<T>& items, const std::string& name) {
    const auto it = std::find_if(items.begin(), items.end(),
                                 [&](const T& item) { return item.name == name; });
    return it == items.end() ? nullptr : &*it;
}

// Names in `now` gone from `next`, names in both that differ, names new in `next`.
template <class T>
void compare(const std::vector<T>& now, const std::vector<T>& next,
             std::vector<std::string>& removed, std::vector<std::string>& changed,
             std::vector<std::string>& added) {
    for (const auto& item : now) {
        const auto* after = named(next, item.name);
        if (!after)
            removed.push_back(item.name);
        else if (!(*after == item))
            changed.push_back(item.name);
    }
    for (const auto& item : next)
        if (!named(now, item.name)) added.push_back(item.name);
}

std::vector<std::string> restart_only_changes(const client_config& now, const client_config& next) {
    std::vector<std::string> changed;
    const auto check = [&](const char* key, bool same) {
        if (!same) changed.emplace_back(key);
    };
    check("server_addr", now.server_addr == next.server_addr);
    check("server_port", now.server_port == next.server_port);
    check("client_id", now.client_id == next.client_id);
    check("auth", now.auth.token == next.auth.token);
    check("tls", now.tls.enable == next.tls.enable &&
                     now.tls.server_fingerprint == next.tls.server_fingerprint &&
                     now.tls.ca_file == next.tls.ca_file && now.tls.server_name == next.tls.server_name);
    const auto& a = now.transport;
    const auto& b = next.transport;
    check("transport", a.pool_count == b.pool_count && a.connections == b.connections &&
                           a.heartbeat_interval == b.heartbeat_interval &&
                           a.heartbeat_timeout == b.heartbeat_timeout &&
                           a.dial_timeout == b.dial_timeout && a.max_backoff == b.max_backoff &&
                           a.resume_buffer == b.resume_buffer &&
                           a.resume_buffer_total == b.resume_buffer_total);
    check("admin", now.admin.addr == next.admin.addr && now.admin.port == next.admin.port);
    check("p2p", now.p2p.keepalive == next.p2p.keepalive &&
                     now.p2p.punch_timeout == next.p2p.punch_timeout);
    return changed;
}

std::string listed(const std::vector<std::string>& added, const std::vector<std::string>& removed,
                   const std::vector<std::string>& changed) {
    std::vector<std::string> parts;
    for (const auto& n : added) parts.push_back("+" + n);
    for (const auto& n : removed) parts.push_back("-" + n);
    for (const auto& n : changed) parts.push_back("~" + n);
    return parts.empty() ? std::string("unchanged") : fmt::format("{}", fmt::join(parts, " "));
}

}  // namespace

reload_plan plan_reload(const client_config& now, const client_config& next) {
    reload_plan plan;
    plan.restart_only = restart_only_changes(now, next);
    // What needs a restart keeps its running value; the rest comes from the file.
    auto applied = std::make_shared<client_config>(now);
    applied->proxies = next.proxies;
    applied->visitors = next.visitors;
    applied->log = next.log;
    applied->shutdown_timeout = next.shutdown_timeout;
    plan.level_changed = now.log.level != next.log.level;

    compare(now.proxies, next.proxies, plan.removed, plan.changed, plan.added);
    std::vector<std::string> visitors_added;
    compare(now.visitors, next.visitors, plan.visitors_removed, plan.visitors_changed,
            visitors_added);
    for (const auto& v : next.visitors)
        if (std::count(visitors_added.begin(), visitors_added.end(), v.name) ||
            std::count(plan.visitors_changed.begin(), plan.visitors_changed.end(), v.name))
            plan.visitors_added.push_back(v);
    plan.applied = std::move(applied);
    return plan;
}

std::string reload_plan::summary(const std::string& file) const {
    std::vector<std::string> visitors_new;
    for (const auto& v : visitors_added)
        if (!std::count(visitors_changed.begin(), visitors_changed.end(), v.name))
            visitors_new.push_back(v.name);
    return fmt::format("reloaded {}: proxies {}; visitors {}{}", file,
                       listed(added, removed, changed),
                       listed(visitors_new, visitors_removed, visitors_changed),
                       level_changed ? fmt::format("; log level {}", applied->log.level) : "");
}

}  // namespace burrow
