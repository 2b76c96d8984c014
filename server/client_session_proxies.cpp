// A client's proxies on the server: registering one (tcp: a port of its own;
// http/https: routes in the vhost table; secret: an entry visitors find by
// name), and closing one.
#include "server/client_session.hpp"

#include <boost/asio/strand.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "burrow.pb.h"
#include "common/config/checks.hpp"
#include "common/host_names.hpp"
#include "common/log.hpp"
#include "server/server_state.hpp"
#include "server/tcp_proxy.hpp"

namespace burrow {

namespace asio = boost::asio;

namespace {
constexpr std::size_t max_name_length = 64;

spdlog::logger& proxy_log() {
    static spdlog::logger& l = log::get("proxy");
    return l;
}
}  // namespace

void client_session::handle_register(const v1::ProxySpec& spec) {
    v1::ServerMessage reply;
    auto* result = reply.mutable_proxy_result();
    result->set_name(spec.name().substr(0, max_name_length));

    std::string error;
    const bool vhost = spec.type() == "http" || spec.type() == "https";
    const bool secret = spec.type() == "secret";
    if (!name_problem(spec.name()).empty())  // the rule the client's config checks
        error = "invalid proxy name (1-64 of A-Z a-z 0-9 . _ -)";
    else if (spec.type() != "tcp" && !vhost && !secret)
        error = fmt::format("proxy type '{}' is not supported",
                            printable(spec.type().substr(0, 16)));
    else if (spec.remote_port() > 65535 || ((vhost || secret) && spec.remote_port() != 0))
        error = "remote_port out of range";
    else if (proxies_.count(spec.name()))
        error = "duplicate proxy name";
    else if (st_.draining)
        error = "the server is shutting down";
    else if (const auto max = st_.settings()->max_proxies_per_client; proxies_.size() >= max)
        error = fmt::format("too many proxies (max {})", max);
    else if (!st_.claim_name(spec.name(), run_id_))
        error = "proxy name already used by another client";
    else if (error = vhost    ? register_vhost(spec, *result)
                     : secret ? register_secret(spec, *result)
                              : register_tcp(spec, *result);
             !error.empty())
        st_.release_name(spec.name(), run_id_);

    if (!error.empty()) {
        result->set_ok(false);
        result->set_error(error);
        proxy_log().warn("[{}] proxy rejected for client {}: {}", printable(spec.name()), who(),
                         error);
    }
    send(std::move(reply));
}

std::string client_session::register_tcp(const v1::ProxySpec& spec, v1::ProxyResult& result) {
    std::string error;
    asio::ip::tcp::acceptor acceptor(asio::make_strand(st_.io));
    if (!st_.ports.bind(acceptor, static_cast<std::uint16_t>(spec.remote_port()), error))
        return error;
    auto proxy = std::make_shared<tcp_proxy>(std::move(acceptor), spec.name(), weak_from_this());
    proxy->start();
    result.set_ok(true);
    result.set_remote_port(proxy->port());
    proxies_.emplace(spec.name(), proxy);
    st_.live.proxy_up({spec.name(), "tcp", client_id_, number_, proxy->port(), {}});
    proxy_log().info("[{}] proxy up: tcp port {} for client {}", spec.name(), proxy->port(), who());
    return "";
}

std::string client_session::register_vhost(const v1::ProxySpec& spec, v1::ProxyResult& result) {
    std::vector<std::string> urls;
    if (auto error = st_.vhosts.add(spec, weak_from_this(), urls); !error.empty()) return error;
    result.set_ok(true);
    for (const auto& u : urls) result.add_urls(u);
    proxies_.emplace(spec.name(), nullptr);
    st_.live.proxy_up({spec.name(), spec.type(), client_id_, number_, 0, urls});
    proxy_log().info("[{}] proxy up: {} {} for client {}", spec.name(), spec.type(),
                     fmt::join(urls, ", "), who());
    return "";
}

std::string client_session::register_secret(const v1::ProxySpec& spec, v1::ProxyResult& result) {
    if (spec.visit_key().size() != 32) return "a secret proxy needs a 32-byte visit_key";
    if (spec.allow_clients_size() > 256) return "too many allow_clients (max 256)";
    secret_table::proxy p{client_id_, weak_from_this(), spec.visit_key(), {}};
    for (const auto& id : spec.allow_clients()) {
        if (!name_problem(id).empty()) return "invalid client id in allow_clients";
        p.allow_clients.push_back(id);
    }
    const auto allowed = p.allow_clients.empty()
                             ? std::string("any client")
                             : fmt::format("{}", fmt::join(p.allow_clients, ", "));
    st_.secrets.add(spec.name(), std::move(p));
    result.set_ok(true);
    proxies_.emplace(spec.name(), nullptr);
    secrets_.insert(spec.name());
    st_.live.proxy_up({spec.name(), "secret", client_id_, number_, 0, {}});
    proxy_log().info("[{}] proxy up: secret, for visitors of {}, served by client {}", spec.name(),
                     allowed, who());
    return "";
}

void client_session::remove_listenerless(const std::string& name, bool for_good) {
    if (secrets_.erase(name) > 0)
        st_.secrets.remove(name, this);
    else if (for_good)
        st_.vhosts.remove(name);
    else
        st_.vhosts.set_offline(name);
}

void client_session::handle_close_proxy(const std::string& name) {
    auto it = proxies_.find(name);
    if (it == proxies_.end()) return;
    if (it->second)
        it->second->stop();
    else
        remove_listenerless(name, true);
    st_.release_name(name, run_id_);
    st_.live.proxy_down(name);
    proxy_log().info("[{}] proxy down: closed by client {}", name, who());
    proxies_.erase(it);
}

}  // namespace burrow
