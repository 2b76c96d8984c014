#include "server/reload.hpp"

#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/config/server.hpp"
#include "common/log.hpp"
#include "server/client_session.hpp"
#include "server/server_state.hpp"

namespace burrow {

namespace {

// The keys whose new value waits for a restart, where `next` differs from `now`.
std::vector<std::string> restart_only_changes(const server_config& now, const server_config& next) {
    std::vector<std::string> changed;
    auto check = [&](const char* key, bool same) {
        if (!same) changed.emplace_back(key);
    };
    check("bind_addr", now.bind_addr == next.bind_addr);
    check("bind_port", now.bind_port == next.bind_port);
    check("proxy_bind_addr", now.proxy_bind_addr == next.proxy_bind_addr);
    check("data_dir", now.data_dir == next.data_dir);
    check("resume_timeout", now.resume_timeout == next.resume_timeout);
    check("resume_buffer", now.resume_buffer == next.resume_buffer);
    check("resume_buffer_total", now.resume_buffer_total == next.resume_buffer_total);
    check("vhost_http_port", now.vhost_http_port == next.vhost_http_port);
    check("vhost_https_port", now.vhost_https_port == next.vhost_https_port);
    check("subdomain_host", now.subdomain_host == next.subdomain_host);
    check("vhost_header_timeout", now.vhost_header_timeout == next.vhost_header_timeout);
    check("vhost_max_body_size", now.vhost_max_body_size == next.vhost_max_body_size);
    check("vhost_body_timeout", now.vhost_body_timeout == next.vhost_body_timeout);
    check("vhost_body_min_rate", now.vhost_body_min_rate == next.vhost_body_min_rate);
    check("vhost_start_grace", now.vhost_start_grace == next.vhost_start_grace);
    check("tls", now.tls.enable == next.tls.enable && now.tls.cert_file == next.tls.cert_file &&
                     now.tls.key_file == next.tls.key_file);
    check("dashboard", now.dashboard.addr == next.dashboard.addr &&
                           now.dashboard.port == next.dashboard.port &&
                           now.dashboard.user == next.dashboard.user &&
                           now.dashboard.password == next.dashboard.password);
    check("p2p", now.p2p.enable == next.p2p.enable &&
                     now.p2p.rendezvous_port == next.p2p.rendezvous_port);
    return changed;
}

}  // namespace

bool reload_config(server_state& st) {
    auto& log = log::get("server");
    const auto& file = st.config.file;
    std::shared_ptr<server_config> next;
    const auto refused = reload_refusal(
        file, [&] { next = std::make_shared<server_config>(load_server_config(file)); });
    for (const auto& line : refused) log.error("{}", line);  // what `verify` prints, a line each
    if (!refused.empty()) return false;
    const auto now = st.settings();

    // Keys that need a restart keep the running value; only the reloadable
    // ones are taken from the file (server_state::settings()).
    auto applied = std::make_shared<server_config>(*now);
    applied->auth = next->auth;
    applied->allow_ports = next->allow_ports;
    applied->max_proxies_per_client = next->max_proxies_per_client;
    applied->max_clients = next->max_clients;
    applied->max_login_failures = next->max_login_failures;
    applied->max_pending_connections = next->max_pending_connections;
    applied->work_timeout = next->work_timeout;
    applied->heartbeat_timeout = next->heartbeat_timeout;
    applied->max_connections_per_source = next->max_connections_per_source;
    applied->max_connections_per_proxy = next->max_connections_per_proxy;
    applied->log = next->log;

    st.verifier.set_tokens(tokens_of(*applied));
    st.limits.set(applied->max_connections_per_source, applied->max_connections_per_proxy);
    st.login_failures.set_failures(applied->max_login_failures);
    if (now->allow_ports != applied->allow_ports) st.ports.set_allowed(applied->allow_ports);
    const bool level_changed = now->log.level != applied->log.level;
    if (level_changed) log::set_level(applied->log.level);
    st.publish(applied);

    std::size_t revoked = 0;
    for (auto& run : st.all_runs())
        if (run->reloaded()) ++revoked;

    log.info("reloaded {}: {} client token(s){}, allow_ports {}, max_clients {}, "
             "max_login_failures {}, max_proxies_per_client {}, "
             "max_pending_connections {}, max_connections_per_source {}, "
             "max_connections_per_proxy {}, work_timeout {} s, heartbeat_timeout {} s{}{}",
             file, applied->auth.clients.size(),
             applied->auth.token.empty() ? " and no shared token" : " and the shared token",
             st.ports.describe(), applied->max_clients, applied->max_login_failures,
             applied->max_proxies_per_client,
             applied->max_pending_connections, applied->max_connections_per_source,
             applied->max_connections_per_proxy, applied->work_timeout, applied->heartbeat_timeout,
             level_changed ? fmt::format(", log level {}", applied->log.level) : "",
             revoked ? fmt::format("; {} run(s) whose token changed ended", revoked) : "");
    if (const auto waiting = restart_only_changes(*now, *next); !waiting.empty())
        log.warn("reload: {} changed in {}: kept as they are until a restart",
                 fmt::join(waiting, ", "), file);
    return true;
}

}  // namespace burrow
