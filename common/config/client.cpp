#include "common/config/client.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <utility>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include "common/config/checks.hpp"
#include "common/config/reader.hpp"
#include "common/host_names.hpp"

namespace burrow {

namespace {

using namespace config_reader;

void read_header_table(table_reader& parent, problem_list& problems, std::string_view key,
                       std::vector<std::pair<std::string, std::string>>& out) {
    auto r = parent.table(key);
    const auto* node = parent.get(key);
    const auto* table = node != nullptr ? node->as_table() : nullptr;
    if (table == nullptr) return;
    for (auto&& [name, value_node] : *table) {
        const auto path = r.key_path(name.str());
        std::string value;
        if (!table_reader::read_string(problems, value_node, path, value)) continue;
        if (auto problem = header_problem(name.str(), value); !problem.empty()) {
            problems.add(name.source().begin, path, fmt::format("header \"{}\" {}", name.str(), problem));
            continue;
        }
        out.emplace_back(name.str(), std::move(value));
    }
}

void read_http_keys(table_reader& r, problem_list& problems, proxy_config& proxy) {
    read_string_array(r, problems, "custom_domains", proxy.custom_domains, custom_domain_problem);
    if (r.read("subdomain", proxy.subdomain) == field::ok) {
        if (auto problem = subdomain_problem(proxy.subdomain); !problem.empty())
            r.problem(*r.get("subdomain"), "subdomain", std::move(problem));
    }
    const auto* domains = r.get("custom_domains");
    const auto* subdomain = r.get("subdomain");
    if (proxy.custom_domains.empty() && proxy.subdomain.empty()) {
        const auto why = fmt::format("a {} proxy needs custom_domains or subdomain", proxy.type);
        // Named where the file has it (an empty list), unless it was wrong already.
        const auto* list = domains ? domains->as_array() : nullptr;
        if (list && list->empty())
            r.problem(*domains, "custom_domains", why);
        else if (!domains && !subdomain)
            r.missing("custom_domains", why);
    }
    if (proxy.type != "http") return;
    read_string_array(r, problems, "locations", proxy.locations, location_problem);
    if (r.read("host_header_rewrite", proxy.host_header_rewrite) == field::ok) {
        if (auto problem = host_header_problem(proxy.host_header_rewrite); !problem.empty())
            r.problem(*r.get("host_header_rewrite"), "host_header_rewrite", std::move(problem));
    }
    read_header_table(r, problems, "request_headers", proxy.request_headers);
    read_header_table(r, problems, "response_headers", proxy.response_headers);
    const auto user = r.read("http_user", proxy.http_user);
    // Basic auth sends "user:password": a ':' in the user would move the split.
    if (user == field::ok && proxy.http_user.find(':') != std::string::npos)
        r.problem(*r.get("http_user"), "http_user", "must not contain ':'");
    const auto password = r.read("http_password", proxy.http_password);
    if (user == field::ok && password == field::absent)
        r.missing("http_password", "required when http_user is set");
    else if (password == field::ok && user == field::absent)
        r.missing("http_user", "required when http_password is set");
    r.read("response_timeout", proxy.response_timeout, 1, 24 * 3600);
    r.read("response_idle_timeout", proxy.response_idle_timeout, 0, 7 * 24 * 3600);
    r.read("allow_connect", proxy.allow_connect);
}

// A secret_key: required, and long enough that guessing it is not the way in.
void read_secret_key(table_reader& r, std::string& key) {
    if (read_required(r, "secret_key", key); !key.empty() && key.size() < 8)
        r.problem(*r.get("secret_key"), "secret_key", "must be at least 8 bytes long");
}

void read_proxy(table_reader& r, problem_list& problems, proxy_config& proxy) {
    if (const auto f = r.read("name", proxy.name); f == field::absent) {
        r.missing("name");
    } else if (f == field::ok) {
        if (auto problem = name_problem(proxy.name); !problem.empty())
            r.problem(*r.get("name"), "name", "proxy name " + problem);
    }
    if (r.read("type", proxy.type) == field::ok && proxy.type != "tcp" && proxy.type != "http" &&
        proxy.type != "https" && proxy.type != "secret") {
        r.problem(*r.get("type"), "type",
                  fmt::format("unknown proxy type \"{}\" (expected tcp, http, https or secret)",
                              proxy.type));
    }
    read_non_empty(r, "local_addr", proxy.local_addr);
    if (r.read_port("local_port", proxy.local_port, false) == field::absent) r.missing("local_port");
    if (r.read_size("bandwidth_limit", proxy.bandwidth_limit, 0, 1ull << 40) == field::ok &&
        proxy.bandwidth_limit > 0 && proxy.bandwidth_limit < 1024)
        r.problem(*r.get("bandwidth_limit"), "bandwidth_limit",
                  "must be at least 1KiB (bytes per second), or 0 for no limit");
    if (proxy.type == "tcp") {
        r.read_port("remote_port", proxy.remote_port, true);
    } else if (proxy.type == "http" || proxy.type == "https") {
        if (const auto* port = r.get("remote_port"))
            r.problem(*port, "remote_port",
                      fmt::format("a {} proxy has no port of its own; users reach it on the server's "
                                  "vhost_{}_port by its domain", proxy.type, proxy.type));
        read_http_keys(r, problems, proxy);
    } else if (proxy.type == "secret") {
        if (const auto* port = r.get("remote_port"))
            r.problem(*port, "remote_port",
                      "a secret proxy has no public port; visitors reach it through the server");
        read_secret_key(r, proxy.secret_key);
        read_string_array(r, problems, "allow_clients", proxy.allow_clients, name_problem);
        r.read("p2p", proxy.p2p);
    }
    // Keys of another type are reported as unknown by finish().
    r.finish();
}

void read_proxies(table_reader& root, problem_list& problems, std::vector<proxy_config>& out) {
    first_seen<std::string> names("duplicate proxy name \"{}\" (first defined at {})");
    first_seen<std::uint16_t> ports("remote port {} is already claimed by {}");
    for_each_table(root, problems, "proxies",
                   [&](table_reader& r, const toml::table& table, const std::string& path) {
                       proxy_config proxy;
                       read_proxy(r, problems, proxy);
                       // Only names and ports that were actually given can clash.
                       if (const auto* name = table.get("name"); name && !proxy.name.empty())
                           names.claim(r, *name, "name", proxy.name, line_of(*name));
                       if (const auto* port = table.get("remote_port");
                           port && proxy.remote_port != 0)
                           ports.claim(r, *port, "remote_port", proxy.remote_port,
                                       proxy.name.empty()
                                           ? path
                                           : fmt::format("proxy \"{}\"", proxy.name));
                       out.push_back(std::move(proxy));
                   });
}

void read_visitor(table_reader& r, visitor_config& v) {
    if (const auto f = r.read("name", v.name); f == field::absent) {
        r.missing("name");
    } else if (f == field::ok) {
        if (auto problem = name_problem(v.name); !problem.empty())
            r.problem(*r.get("name"), "name", "visitor name " + problem);
    }
    if (const auto f = r.read("server_name", v.server_name); f == field::absent) {
        r.missing("server_name", "the name of the secret proxy to visit is required");
    } else if (f == field::ok) {
        if (auto problem = name_problem(v.server_name); !problem.empty())
            r.problem(*r.get("server_name"), "server_name", "proxy name " + problem);
    }
    if (r.read("server_client", v.server_client) == field::ok) {
        if (auto problem = name_problem(v.server_client); !problem.empty())
            r.problem(*r.get("server_client"), "server_client", std::move(problem));
    }
    read_secret_key(r, v.secret_key);
    read_non_empty(r, "bind_addr", v.bind_addr);
    r.read_port("bind_port", v.bind_port, true);
    r.read("p2p", v.p2p);
    r.finish();
}

void read_visitors(table_reader& root, problem_list& problems, std::vector<visitor_config>& out) {
    first_seen<std::string> names("duplicate visitor name \"{}\" (first defined at {})");
    first_seen<std::string> binds("{} is already the bind address of {}");
    for_each_table(root, problems, "visitors",
                   [&](table_reader& r, const toml::table& table, const std::string& path) {
                       visitor_config v;
                       read_visitor(r, v);
                       if (const auto* name = table.get("name"); name && !v.name.empty())
                           names.claim(r, *name, "name", v.name, line_of(*name));
                       if (const auto* port = table.get("bind_port"); port && v.bind_port != 0)
                           binds.claim(r, *port, "bind_port",
                                       fmt::format("{}:{}", v.bind_addr, v.bind_port),
                                       v.name.empty() ? path
                                                      : fmt::format("visitor \"{}\"", v.name));
                       out.push_back(std::move(v));
                   });
}

void read_tls(table_reader& root, client_config& cfg) {
    auto tls = root.table("tls");
    tls.read("enable", cfg.tls.enable);
    const auto fingerprint = tls.read("server_fingerprint", cfg.tls.server_fingerprint);
    if (fingerprint == field::ok) {
        if (auto normal = normalize_fingerprint(cfg.tls.server_fingerprint)) {
            cfg.tls.server_fingerprint = std::move(*normal);
        } else {
            tls.problem(*tls.get("server_fingerprint"), "server_fingerprint",
                        fmt::format("malformed fingerprint \"{}\" (expected \"sha256:\" followed by "
                                    "64 hex digits, optionally colon-separated in pairs)",
                                    cfg.tls.server_fingerprint));
        }
    }
    const auto ca = tls.read("ca_file", cfg.tls.ca_file);
    if (ca == field::ok) require_non_empty(tls, "ca_file", cfg.tls.ca_file);
    tls.read("server_name", cfg.tls.server_name);
    // The client always authenticates the server; only a value that is
    // absent (not one already reported as wrong) makes this a problem.
    if (cfg.tls.enable && fingerprint == field::absent && ca == field::absent) {
        tls.missing("server_fingerprint",
                    "tls is enabled, so tls.server_fingerprint or tls.ca_file is required");
    }
    tls.finish();
}

void read_transport(table_reader& root, client_config& cfg) {
    auto t = root.table("transport");
    const auto pool = t.read("pool_count", cfg.transport.pool_count, 0, 64);
    // Idle Work streams keep each connection open (a connection with no
    // stream is dropped by the server as login-less): no more connections
    // than them.
    const auto conns = t.read("connections", cfg.transport.connections, 1, 8);
    const auto carried = std::max<std::uint32_t>(cfg.transport.pool_count, 1);
    if (conns == field::ok && pool != field::invalid && cfg.transport.connections > carried)
        t.problem(*t.get("connections"), "connections",
                  fmt::format("connections ({}) must not exceed pool_count ({}): the idle Work "
                              "streams keep each connection open",
                              cfg.transport.connections, cfg.transport.pool_count));
    const auto interval = t.read("heartbeat_interval", cfg.transport.heartbeat_interval, 1, uint32_max);
    const auto timeout = t.read("heartbeat_timeout", cfg.transport.heartbeat_timeout, 1, uint32_max);
    if (interval != field::invalid && timeout != field::invalid &&
        cfg.transport.heartbeat_timeout <= cfg.transport.heartbeat_interval) {
        // Point at whichever of the two the file set; the timeout if both.
        const auto* at = t.get(timeout == field::ok ? "heartbeat_timeout" : "heartbeat_interval");
        t.problem(*at, timeout == field::ok ? "heartbeat_timeout" : "heartbeat_interval",
                  fmt::format("heartbeat_timeout ({}) must be greater than heartbeat_interval ({})",
                              cfg.transport.heartbeat_timeout, cfg.transport.heartbeat_interval));
    }
    t.read("dial_timeout", cfg.transport.dial_timeout, 1, uint32_max);
    t.read("max_backoff", cfg.transport.max_backoff, 1, uint32_max);
    t.read_size("resume_buffer", cfg.transport.resume_buffer, 256u << 10, 1ull << 30);
    t.read_size("resume_buffer_total", cfg.transport.resume_buffer_total, 1u << 20, 64ull << 30);
    t.finish();
}

// The admin API answers anyone who can connect: TCP only on loopback.
void read_p2p(table_reader& root, client_config& cfg) {
    auto p = root.table("p2p");
    p.read("keepalive", cfg.p2p.keepalive, 1, 120);
    p.read("punch_timeout", cfg.p2p.punch_timeout, 1, 60);
    p.finish();
}

void read_admin(table_reader& root, client_config& cfg) {
    auto a = root.table("admin");
    if (a.read("addr", cfg.admin.addr) == field::ok) {
        boost::system::error_code ec;
        const auto ip = boost::asio::ip::make_address(cfg.admin.addr, ec);
        if (ec || !ip.is_loopback())
            a.problem(*a.get("addr"), "addr",
                      "must be a loopback address (127.0.0.1 or ::1): the admin API has no "
                      "password");
    }
    a.read_port("port", cfg.admin.port, true);
    a.finish();
}

std::string host_name() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "burrow-client";
    return buf;
}

}  // namespace

client_config parse_client_config(std::string_view text, const std::string& path) {
    client_config cfg;
    cfg.file = path;
    read_document(text, path, [&cfg](table_reader& root, problem_list& problems) {
        read_required(root, "server_addr", cfg.server_addr);
        root.read_port("server_port", cfg.server_port, false);
        root.read("shutdown_timeout", cfg.shutdown_timeout, 0, 3600);
        if (root.read("client_id", cfg.client_id) == field::ok) {
            if (auto problem = name_problem(cfg.client_id); !problem.empty())
                root.problem(*root.get("client_id"), "client_id", std::move(problem));
        }
        read_auth(root, cfg.auth.token);
        read_tls(root, cfg);
        read_transport(root, cfg);
        read_admin(root, cfg);
        read_p2p(root, cfg);
        read_log(root, cfg.log);
        read_proxies(root, problems, cfg.proxies);
        read_visitors(root, problems, cfg.visitors);
    });

    if (cfg.client_id.empty()) cfg.client_id = host_name();
    if (cfg.tls.server_name.empty()) cfg.tls.server_name = cfg.server_addr;
    return cfg;
}

client_config load_client_config(const std::string& path) {
    auto cfg = parse_client_config(read_config_file(path), path);
    cfg.file = absolute_path(path).string();
    resolve_path(absolute_path(path).parent_path(), cfg.tls.ca_file);
    return cfg;
}

}  // namespace burrow
