#include "server/dashboard/api.hpp"

#include <map>

#include <boost/json.hpp>
#include <fmt/format.h>

namespace burrow::dashboard {

namespace json = boost::json;

namespace {

std::string text(const json::value& v) { return json::serialize(v); }

// Ids are 64-bit: JSON numbers that large lose digits in JavaScript.
json::string id_string(std::uint64_t id) { return json::string(std::to_string(id)); }

json::array strings(const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) a.emplace_back(s);
    return a;
}

}  // namespace

std::string overview_json(const overview& o) {
    const auto& t = o.totals;
    return text(json::object{
        {"version", BURROW_VERSION},
        {"uptime_seconds", o.uptime_seconds},
        {"clients", t.clients},
        {"proxies", t.proxies},
        {"sessions", t.sessions},
        {"connections", t.sessions},
        {"connections_total", t.connections_total},
        {"bytes_in", t.bytes_in},
        {"bytes_out", t.bytes_out},
        {"login_failures", t.login_failures},
        {"dashboard_login_failures", o.dashboard_login_failures},
        {"resumptions", t.resumptions},
        {"heap_in_use_bytes", o.heap_in_use},
    });
}

std::string clients_json(const std::vector<live::client_view>& clients) {
    json::array a;
    for (const auto& c : clients)
        a.emplace_back(json::object{
            {"id", c.info.id},
            {"remote_addr", c.info.addr},
            {"version", c.info.version},
            {"connected_since", c.info.since},
            {"state", c.away ? "away" : "online"},
            {"proxies", strings(c.proxies)},
            {"sessions", c.sessions},
        });
    return text(json::object{{"clients", std::move(a)}});
}

std::string proxies_json(const std::vector<live::proxy_view>& proxies) {
    json::array a;
    for (const auto& p : proxies) {
        json::object o{
            {"name", p.info.name},
            {"type", p.info.type},
            {"client", p.info.client},
            {"port", nullptr},
            {"urls", strings(p.info.urls)},
            {"state", p.away ? "away" : "up"},
            {"connections", p.connections},
            {"connections_total", p.connections_total},
            {"bytes_in", p.bytes_in},
            {"bytes_out", p.bytes_out},
            {"last_error", p.last_error},
        };
        if (p.info.port != 0) o["port"] = p.info.port;
        a.emplace_back(std::move(o));
    }
    return text(json::object{{"proxies", std::move(a)}});
}

std::string sessions_json(const std::vector<live::session_view>& sessions) {
    json::array a;
    for (const auto& s : sessions)
        a.emplace_back(json::object{
            {"id", id_string(s.id)},
            {"proxy", s.proxy},
            {"client", s.client},
            {"user_addr", s.user_addr},
            {"opened_at", s.opened_at},
            {"bytes_in", s.bytes_in},
            {"bytes_out", s.bytes_out},
            {"path", s.path},
        });
    return text(json::object{{"sessions", std::move(a)}});
}

std::string traffic_json(const std::string& proxy, const live::traffic_view& t) {
    json::array ts, in, out;
    for (auto v : t.t) ts.emplace_back(v);
    for (auto v : t.in) in.emplace_back(v);
    for (auto v : t.out) out.emplace_back(v);
    return text(json::object{{"proxy", proxy},
                             {"bucket_seconds", t.bucket_seconds},
                             {"t", std::move(ts)},
                             {"in", std::move(in)},
                             {"out", std::move(out)}});
}

std::string error_json(std::string_view message) {
    return text(json::object{{"error", message}});
}

std::string session_json(std::string_view auth, std::string_view user, std::string_view csrf) {
    return text(json::object{{"auth", auth}, {"user", user}, {"csrf", csrf}});
}

std::string login_json(std::string_view csrf) { return text(json::object{{"csrf", csrf}}); }

namespace {

// A label value: backslash, double quote and line feed escaped.
std::string label(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

class metric_writer {
public:
    void family(std::string_view name, std::string_view type, std::string_view help) {
        out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    }
    template <class T>
    void sample(std::string_view name, std::string_view labels, T value) {
        if (labels.empty())
            out_ += fmt::format("{} {}\n", name, value);
        else
            out_ += fmt::format("{}{{{}}} {}\n", name, labels, value);
    }
    template <class T>
    void single(std::string_view name, std::string_view type, std::string_view help, T value) {
        family(name, type, help);
        sample(name, "", value);
    }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

}  // namespace

std::string metrics_text(const overview& o, const std::vector<live::client_view>& clients,
                         const std::vector<live::proxy_view>& proxies) {
    metric_writer w;
    const auto& t = o.totals;
    w.single("burrow_uptime_seconds", "gauge", "Seconds since the server started.",
             fmt::format("{:.3f}", o.uptime_seconds));
    std::size_t away = 0;
    for (const auto& c : clients) away += c.away ? 1 : 0;
    w.family("burrow_clients", "gauge", "Logged-in clients, by state.");
    w.sample("burrow_clients", "state=\"online\"", clients.size() - away);
    w.sample("burrow_clients", "state=\"away\"", away);
    std::map<std::string, std::size_t> by_type{{"tcp", 0}, {"http", 0}, {"https", 0}, {"secret", 0}};
    for (const auto& p : proxies) ++by_type[p.info.type];
    w.family("burrow_proxies", "gauge", "Registered proxies, by type.");
    for (const auto& [type, n] : by_type)
        w.sample("burrow_proxies", fmt::format("type=\"{}\"", label(type)), n);
    w.single("burrow_connections", "gauge", "User connections open now.", t.sessions);
    w.single("burrow_connections_total", "counter", "User connections since start.",
             t.connections_total);
    w.single("burrow_bytes_in_total", "counter", "Bytes from users toward services.", t.bytes_in);
    w.single("burrow_bytes_out_total", "counter", "Bytes from services to users.", t.bytes_out);
    w.single("burrow_login_failures_total", "counter", "Client logins rejected.",
             t.login_failures);
    w.single("burrow_dashboard_login_failures_total", "counter", "Dashboard logins rejected.",
             o.dashboard_login_failures);
    w.single("burrow_resumptions_total", "counter", "Sessions re-attached after a break.",
             t.resumptions);
    w.single("burrow_heap_in_use_bytes", "gauge",
             "Bytes held from malloc (the resident set also counts freed heap glibc keeps).",
             o.heap_in_use);

    auto per_proxy = [&](std::string_view name, std::string_view type, std::string_view help,
                         auto value) {
        w.family(name, type, help);
        for (const auto& p : proxies)
            w.sample(name,
                     fmt::format("proxy=\"{}\",type=\"{}\",client=\"{}\"", label(p.info.name),
                                 label(p.info.type), label(p.info.client)),
                     value(p));
    };
    per_proxy("burrow_proxy_connections", "gauge", "User connections open now, per proxy.",
              [](const live::proxy_view& p) { return p.connections; });
    per_proxy("burrow_proxy_bytes_in_total", "counter",
              "Bytes from users toward the service, per proxy.",
              [](const live::proxy_view& p) { return p.bytes_in; });
    per_proxy("burrow_proxy_bytes_out_total", "counter",
              "Bytes from the service to users, per proxy.",
              [](const live::proxy_view& p) { return p.bytes_out; });
    return w.take();
}

std::optional<credentials> parse_login(std::string_view body) {
    if (body.size() > 4096) return std::nullopt;
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object()) return std::nullopt;
    const auto& o = v.get_object();
    const auto* user = o.if_contains("user");
    const auto* password = o.if_contains("password");
    if (!user || !password || !user->is_string() || !password->is_string()) return std::nullopt;
    return credentials{std::string(user->get_string()), std::string(password->get_string())};
}

}  // namespace burrow::dashboard
