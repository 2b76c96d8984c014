// Every client's http and https proxies: which one serves a Host (and path) or
// a TLS server name, and how. Shared by all sessions and vhost connections.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "server/vhost/router.hpp"

namespace burrow {

namespace v1 {
class ProxySpec;
}
struct server_config;
class client_session;

namespace vhost {

// One registered http/https proxy, as the vhost listeners apply it. Immutable.
struct target {
    std::string proxy;
    std::string host_header_rewrite;
    std::vector<std::pair<std::string, std::string>> request_headers;
    std::vector<std::pair<std::string, std::string>> response_headers;
    std::string authorization;  // the Authorization value users must send; "" = open
    std::chrono::milliseconds response_timeout{60'000};      // to the response header
    std::chrono::milliseconds response_idle_timeout{0};      // within its body; 0 = none
    bool allow_connect = false;
    std::weak_ptr<client_session> owner;  // expired: the client is offline (502)
};

class table {
public:
    explicit table(const server_config& config);

    // Registers an "http" or "https" proxy. Returns "" and fills `urls`, or
    // the reason it was refused (nothing registered then). A domain held by an
    // offline client's proxy is taken over.
    std::string add(const v1::ProxySpec& spec, std::weak_ptr<client_session> owner,
                    std::vector<std::string>& urls);
    // The owner closed the proxy: its routes go.
    void remove(const std::string& proxy);
    // The owner went away: requests get 502 instead of 404 until a proxy
    // takes the routes over, the same name registers again, or it expires.
    void set_offline(const std::string& proxy);

    std::shared_ptr<const target> find_http(std::string_view host, std::string_view request);
    std::shared_ptr<const target> find_https(std::string_view server_name);

private:
    struct entry {
        std::shared_ptr<const vhost::target> target;
        bool https = false;
        std::chrono::steady_clock::time_point offline_since{};  // {} = online
    };
    void erase_locked(const std::string& proxy);
    void expire_locked();

    const std::uint16_t http_port_, https_port_;
    const std::string subdomain_host_;
    std::mutex mutex_;
    router http_, https_;
    std::unordered_map<std::string, entry> entries_;
};

// "Basic base64(user:password)", the Authorization value that proves them.
std::string basic_authorization(std::string_view user, std::string_view password);

}  // namespace vhost

// The name server_state knows the table by.
using vhost_table = vhost::table;

}  // namespace burrow
