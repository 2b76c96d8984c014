#include "server/vhost/table.hpp"

#include <openssl/evp.h>

#include <fmt/format.h>

#include "burrow.pb.h"
#include "common/config.hpp"
#include "common/config/checks.hpp"

namespace burrow::vhost {

using namespace std::chrono_literals;

namespace {
// An offline client's routes answer 502 this long before they are forgotten (404).
constexpr auto offline_retention = 1h;
constexpr std::size_t max_headers = 64;

std::string url(const char* scheme, const std::string& domain, std::uint16_t port,
                std::uint16_t default_port, const std::string& location) {
    return port == default_port ? fmt::format("{}://{}{}", scheme, domain, location)
                                : fmt::format("{}://{}:{}{}", scheme, domain, port, location);
}
}  // namespace

std::string basic_authorization(std::string_view user, std::string_view password) {
    const std::string plain = fmt::format("{}:{}", user, password);
    std::string encoded(4 * ((plain.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                  reinterpret_cast<const unsigned char*>(plain.data()),
                                  static_cast<int>(plain.size()));
    encoded.resize(static_cast<std::size_t>(n));
    return "Basic " + encoded;
}

table::table(const server_config& config)
    : http_port_(config.vhost_http_port),
      https_port_(config.vhost_https_port),
      subdomain_host_(config.subdomain_host),
      http_(config.subdomain_host),
      https_(config.subdomain_host) {}

std::string table::add(const v1::ProxySpec& spec, std::weak_ptr<client_session> owner,
                             std::vector<std::string>& urls) {
    const bool https = spec.type() == "https";
    if ((https ? https_port_ : http_port_) == 0)
        return fmt::format("the server does not serve {} proxies (vhost_{}_port is off)",
                           spec.type(), spec.type());
    if (https && (spec.locations_size() > 0 || !spec.host_header_rewrite().empty() ||
                  !spec.http_user().empty() || spec.request_headers_size() > 0 ||
                  spec.response_headers_size() > 0))
        return "https proxies are routed by server name only; locations, headers and "
               "basic auth need type http";
    if (spec.request_headers_size() + spec.response_headers_size() > static_cast<int>(max_headers))
        return fmt::format("at most {} request and response headers may be set", max_headers);
    // The same rule as the client's config (common/config/checks): a proxy
    // never sets a header that frames or routes the message.
    for (const auto* headers : {&spec.request_headers(), &spec.response_headers()})
        for (const auto& [name, value] : *headers)
            if (!header_problem(name, value).empty())
                return "a header to set has an invalid name or value";
    if (spec.http_user().find(':') != std::string::npos)
        return "http_user must not contain ':'";
    // What goes into the Host line to the service (found by fuzzing: CR LF was
    // written out raw, a header injection towards the client's own service).
    if (!host_header_problem(spec.host_header_rewrite()).empty())
        return "host_header_rewrite may hold only visible ASCII, at most 255 bytes";

    route_spec route{spec.name(),
                           {spec.custom_domains().begin(), spec.custom_domains().end()},
                           spec.subdomain(),
                           {spec.locations().begin(), spec.locations().end()}};

    auto target = std::make_shared<vhost::target>();
    target->proxy = spec.name();
    target->host_header_rewrite = spec.host_header_rewrite();
    target->request_headers.assign(spec.request_headers().begin(), spec.request_headers().end());
    target->response_headers.assign(spec.response_headers().begin(), spec.response_headers().end());
    if (!spec.http_user().empty() || !spec.http_password().empty())
        target->authorization = basic_authorization(spec.http_user(), spec.http_password());
    if (spec.response_timeout_ms() > 0)
        target->response_timeout = std::chrono::milliseconds(spec.response_timeout_ms());
    target->response_idle_timeout = std::chrono::milliseconds(spec.response_idle_timeout_ms());
    target->allow_connect = spec.allow_connect();
    target->owner = std::move(owner);

    std::lock_guard lock(mutex_);
    expire_locked();
    // The same name coming back (a reconnected client) replaces its offline self.
    if (auto it = entries_.find(spec.name()); it != entries_.end()) {
        if (it->second.offline_since == std::chrono::steady_clock::time_point{})
            return fmt::format("proxy '{}' is already registered", spec.name());
        erase_locked(spec.name());
    }
    auto offline = [this](const std::string& holder) {
        auto it = entries_.find(holder);
        return it != entries_.end() &&
               it->second.offline_since != std::chrono::steady_clock::time_point{};
    };
    std::vector<std::string> evicted;
    auto& router = https ? https_ : http_;
    if (auto error = router.add(route, offline, &evicted); !error.empty()) return error;
    for (const auto& name : evicted) entries_.erase(name);
    entries_[spec.name()] = entry{std::move(target), https, {}};

    std::vector<std::string> domains(spec.custom_domains().begin(), spec.custom_domains().end());
    if (!spec.subdomain().empty()) domains.push_back(spec.subdomain() + "." + subdomain_host_);
    std::vector<std::string> locations(spec.locations().begin(), spec.locations().end());
    if (locations.empty()) locations.emplace_back("/");
    urls.clear();
    for (const auto& d : domains)
        for (const auto& l : locations)
            urls.push_back(https ? url("https", d, https_port_, 443, l)
                                 : url("http", d, http_port_, 80, l));
    return "";
}

void table::erase_locked(const std::string& proxy) {
    auto it = entries_.find(proxy);
    if (it == entries_.end()) return;
    (it->second.https ? https_ : http_).remove(proxy);
    entries_.erase(it);
}

void table::expire_locked() {
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::string> expired;
    for (const auto& [name, e] : entries_)
        if (e.offline_since != std::chrono::steady_clock::time_point{} &&
            now - e.offline_since > offline_retention)
            expired.push_back(name);
    for (const auto& name : expired) erase_locked(name);
}

void table::remove(const std::string& proxy) {
    std::lock_guard lock(mutex_);
    erase_locked(proxy);
}

void table::set_offline(const std::string& proxy) {
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(proxy); it != entries_.end())
        it->second.offline_since = std::chrono::steady_clock::now();
}

std::shared_ptr<const target> table::find_http(std::string_view host, std::string_view request) {
    std::lock_guard lock(mutex_);
    const auto* name = http_.route(host, request);
    return name != nullptr ? entries_.at(*name).target : nullptr;
}

std::shared_ptr<const target> table::find_https(std::string_view server_name) {
    std::lock_guard lock(mutex_);
    const auto* name = https_.route(server_name, "/");
    return name != nullptr ? entries_.at(*name).target : nullptr;
}

}  // namespace burrow::vhost
