// The vhost listeners: `http` proxies on vhost_http_port (routed per request
// by Host and path), `https` proxies on vhost_https_port (routed by the TLS
// server name, never terminated). Both hand each user connection, or each
// upstream HTTP connection, to the owning client's Work streams.
#pragma once

#include <cstdint>
#include <memory>

namespace burrow {

struct server_state;

class vhost_listener {
public:
    enum class kind { http, https };
    vhost_listener(server_state& st, kind k);
    ~vhost_listener();
    vhost_listener(const vhost_listener&) = delete;
    vhost_listener& operator=(const vhost_listener&) = delete;

    // Binds proxy_bind_addr and the kind's port, and accepts. Throws
    // std::runtime_error when the port cannot be bound.
    void start();
    void stop();  // closes the listener; open connections live on
    std::uint16_t port() const;

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace burrow
