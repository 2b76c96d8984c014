#include "common/config/server.hpp"

#include <cctype>
#include <limits>
#include <utility>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

#include "common/config/reader.hpp"

namespace burrow {

namespace {

using namespace config_reader;

void read_allow_ports(table_reader& root, problem_list& problems, std::vector<port_range>& out) {
    const auto* node = root.get("allow_ports");
    if (node == nullptr) return;
    const auto* array = node->as_array();
    if (array == nullptr) {
        root.type_problem(*node, "allow_ports", "an array of ports and port ranges");
        return;
    }
    for (std::size_t i = 0; i < array->size(); ++i) {
        const auto& element = *array->get(i);
        auto key = fmt::format("{}[{}]", root.key_path("allow_ports"), i);
        if (element.is_integer()) {
            std::uint64_t port = 0;
            if (table_reader::read_uint(problems, element, key, 1, 65535, port)) {
                const auto p = static_cast<std::uint16_t>(port);
                out.push_back({p, p});
            }
        } else if (element.is_string()) {
            std::string spec;
            if (!table_reader::read_string(problems, element, key, spec)) continue;
            port_range range;
            if (auto problem = port_range_problem(spec, range); !problem.empty()) {
                problems.add(element.source().begin, std::move(key), std::move(problem));
            } else {
                out.push_back(range);
            }
        } else {
            problems.add(element.source().begin, std::move(key),
                         fmt::format("expected a port number or a \"first-last\" range string, got {}",
                                     type_name(element.type())));
        }
    }
}

// The keys of the http and https proxies (vhost_*, subdomain_host).
void read_vhost_keys(table_reader& root, server_config& cfg) {
    root.read_port("vhost_http_port", cfg.vhost_http_port, true);
    root.read_port("vhost_https_port", cfg.vhost_https_port, true);
    if (root.read("subdomain_host", cfg.subdomain_host) == field::ok && !cfg.subdomain_host.empty()) {
        if (auto problem = subdomain_host_problem(cfg.subdomain_host); !problem.empty())
            root.problem(*root.get("subdomain_host"), "subdomain_host", std::move(problem));
        for (auto& c : cfg.subdomain_host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    root.read("vhost_header_timeout", cfg.vhost_header_timeout, 1, 24 * 3600);
    root.read("vhost_max_body_size", cfg.vhost_max_body_size, 0,
              static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
    root.read("vhost_body_timeout", cfg.vhost_body_timeout, 0, 24 * 3600);
    root.read("vhost_body_min_rate", cfg.vhost_body_min_rate, 0, uint32_max);
    root.read("vhost_start_grace", cfg.vhost_start_grace, 0, 24 * 3600);
    if (cfg.vhost_http_port != 0 && cfg.vhost_http_port == cfg.vhost_https_port)
        root.problem(*root.get("vhost_https_port"), "vhost_https_port",
                     "must differ from vhost_http_port");
}

void read_tls(table_reader& root, server_config& cfg) {
    auto tls = root.table("tls");
    tls.read("enable", cfg.tls.enable);
    const auto cert = tls.read("cert_file", cfg.tls.cert_file);
    const auto key = tls.read("key_file", cfg.tls.key_file);
    if (cert == field::ok) require_non_empty(tls, "cert_file", cfg.tls.cert_file);
    if (key == field::ok) require_non_empty(tls, "key_file", cfg.tls.key_file);
    // A certificate without its key (or the reverse) cannot be served: the
    // other half is a required key as soon as one is given.
    if (cert == field::ok && key == field::absent) {
        tls.missing("key_file", "required when tls.cert_file is set");
    } else if (key == field::ok && cert == field::absent) {
        tls.missing("cert_file", "required when tls.key_file is set");
    }
    tls.finish();
}

// A dashboard anyone on the network could reach needs a password; with a
// password, it needs a user name to go with it.
void read_dashboard(table_reader& root, server_config& cfg) {
    auto d = root.table("dashboard");
    auto& dash = cfg.dashboard;
    const auto addr = d.read("addr", dash.addr);
    d.read_port("port", dash.port, true);
    read_non_empty(d, "user", dash.user);
    d.read("password", dash.password);
    boost::system::error_code ec;
    const auto ip = boost::asio::ip::make_address(dash.addr, ec);
    if (addr == field::ok && ec)
        d.problem(*d.get("addr"), "addr", "must be an IP address (127.0.0.1, 0.0.0.0, ::)");
    else if (!ec && !ip.is_loopback() && dash.password.empty() && dash.port != 0)
        d.problem(*d.get("addr"), "addr",
                  "is not a loopback address, so dashboard.password is required");
    d.finish();
}

// The rendezvous takes two UDP ports, rendezvous_port and the next one; by
// default the same number as the gRPC port (TCP), so one firewall rule
// "7000-7001 tcp+udp" covers both.
void read_p2p(table_reader& root, server_config& cfg) {
    auto p = root.table("p2p");
    p.read("enable", cfg.p2p.enable);
    cfg.p2p.rendezvous_port = cfg.bind_port;
    const auto port = p.read_port("rendezvous_port", cfg.p2p.rendezvous_port, true);
    if (cfg.p2p.enable && cfg.p2p.rendezvous_port == 65535) {
        if (port == field::ok)
            p.problem(*p.get("rendezvous_port"), "rendezvous_port",
                      "must be at most 65534: the rendezvous also takes the next port");
        else
            p.missing("rendezvous_port",
                      "required when bind_port is 65535: the rendezvous takes two UDP ports, "
                      "rendezvous_port and the next one");
    }
    p.finish();
}

// [auth]: the shared token and/or [[auth.clients]], one token per client id.
void read_server_auth(table_reader& root, problem_list& problems, server_config& cfg) {
    auto auth = root.table("auth");
    read_non_empty(auth, "token", cfg.auth.token);
    first_seen<std::string> ids("client id \"{}\" is listed twice (first at {})");
    for_each_table(auth, problems, "clients",
                   [&](table_reader& r, const toml::table& table, const std::string&) {
                       server_config::client_token c;
                       if (const auto f = r.read("id", c.id); f == field::absent) {
                           r.missing("id", "the client_id this token is for is required");
                       } else if (f == field::ok) {
                           if (auto problem = name_problem(c.id); !problem.empty())
                               r.problem(*r.get("id"), "id", "client id " + problem);
                           else
                               ids.claim(r, *table.get("id"), "id", c.id, line_of(*table.get("id")));
                       }
                       read_required(r, "token", c.token);
                       r.finish();
                       cfg.auth.clients.push_back(std::move(c));
                   });
    const auto* clients = auth.get("clients");
    if (!auth.get("token") && !clients)
        auth.missing("token", "required key is missing (or list [[auth.clients]] with a token "
                              "for each client)");
    else if (!auth.get("token") && clients->is_array() && clients->as_array()->empty())
        auth.problem(*clients, "clients", "no client listed and no shared token: nobody could log in");
    auth.finish();
}

}  // namespace

server_config parse_server_config(std::string_view text, const std::string& path) {
    server_config cfg;
    cfg.file = path;
    read_document(text, path, [&cfg](table_reader& root, problem_list& problems) {
        read_non_empty(root, "bind_addr", cfg.bind_addr);
        root.read_port("bind_port", cfg.bind_port, true);
        read_non_empty(root, "proxy_bind_addr", cfg.proxy_bind_addr);
        read_allow_ports(root, problems, cfg.allow_ports);
        read_non_empty(root, "data_dir", cfg.data_dir);
        root.read("heartbeat_timeout", cfg.heartbeat_timeout, 1, uint32_max);
        root.read("max_proxies_per_client", cfg.max_proxies_per_client, 1, uint32_max);
        root.read("max_clients", cfg.max_clients, 0, uint32_max);
        root.read("max_login_failures", cfg.max_login_failures, 0, uint32_max);
        root.read("max_pending_connections", cfg.max_pending_connections, 1, uint32_max);
        root.read("work_timeout", cfg.work_timeout, 1, uint32_max);
        root.read("max_connections_per_source", cfg.max_connections_per_source, 0, uint32_max);
        root.read("max_connections_per_proxy", cfg.max_connections_per_proxy, 0, uint32_max);
        root.read("shutdown_timeout", cfg.shutdown_timeout, 0, 3600);
        root.read("resume_timeout", cfg.resume_timeout, 0, 86400);
        root.read_size("resume_buffer", cfg.resume_buffer, 256u << 10, 1ull << 30);
        root.read_size("resume_buffer_total", cfg.resume_buffer_total, 1u << 20, 64ull << 30);
        read_vhost_keys(root, cfg);
        read_server_auth(root, problems, cfg);
        read_tls(root, cfg);
        read_dashboard(root, cfg);
        read_p2p(root, cfg);
        read_log(root, cfg.log);
    });
    return cfg;
}

server_config load_server_config(const std::string& path) {
    auto cfg = parse_server_config(read_config_file(path), path);
    cfg.file = absolute_path(path).string();
    const auto dir = absolute_path(path).parent_path();
    resolve_path(dir, cfg.data_dir);
    resolve_path(dir, cfg.tls.cert_file);
    resolve_path(dir, cfg.tls.key_file);
    return cfg;
}

}  // namespace burrow
