// The dashboard's HTTP server ([dashboard] addr/port): Beast on a thread and
// io_context of its own, so that its users, slow or hostile, never wait in
// line with the tunnels' io threads. Limits: 64 connections at once (16 per
// address), 8 KiB of request header, 16 KiB of body, 10 s to send a request,
// 30 s idle between requests, 10 s to take an answer. It also ends the live
// book's traffic bucket every 10 s.
#pragma once

#include <cstdint>
#include <memory>

namespace burrow {

struct server_state;

class dashboard_server {
public:
    explicit dashboard_server(server_state& st);
    ~dashboard_server();
    dashboard_server(const dashboard_server&) = delete;
    dashboard_server& operator=(const dashboard_server&) = delete;

    // Binds and starts serving; throws std::runtime_error naming the address.
    void start();
    void stop();
    std::uint16_t port() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace burrow
