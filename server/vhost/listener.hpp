// The vhost listeners: `http` proxies on vhost_http_port (routed per request
// by Host and path), `https` proxies on vhost_https_port (routed by the TLS
// server name, never terminated). Both hand each user connection, or each
// upstream HTTP connection, to the owning client's Work streams.
#pragma once

#include <cstdint>
#include <memory>

namespace burrow {
struct server_state;
}

namespace burrow::vhost {

class listener {
public:
    enum class kind { http, https };
    listener(server_state& st, kind k);
    ~listener();
    listener(const listener&) = delete;
    listener& operator=(const listener&) = delete;

    // Binds proxy_bind_addr and the kind's port, and accepts. Throws
    // std::runtime_error when the port cannot be bound.
    void start();
    void stop();  // closes the listener; open connections live on
    std::uint16_t port() const;

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace burrow::vhost

namespace burrow {
// The name server.cpp knows the listener by.
using vhost_listener = vhost::listener;
}  // namespace burrow
