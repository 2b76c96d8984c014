// burrow-server's configuration: the schema (DESIGN.md §4) and its loader.
//
// Loading is parse -> defaults -> validate, and does no other I/O than reading
// the file. Defaults live in the member initialisers below. Problems are
// reported as config_error (common/config/problem.hpp).
//
// The server hands a loaded config around as std::shared_ptr<const server_config>:
// an immutable snapshot that whoever needs it keeps alive, so a later reload can
// publish a new one without leaving references to the old one dangling.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/checks.hpp"
#include "common/config/sections.hpp"
#include "common/config/problem.hpp"

namespace burrow {

struct server_config {
    std::string file;  // absolute path of the file this was loaded from

    std::string bind_addr = "0.0.0.0";     // gRPC listener for clients
    std::uint16_t bind_port = 7000;        // 0 = any free port (logged at start)
    std::string proxy_bind_addr = "0.0.0.0";  // where tcp proxies listen
    std::vector<port_range> allow_ports;   // empty = any port >= 1024
    std::string data_dir = "burrow-data";  // relative to the config file's directory
    std::uint32_t heartbeat_timeout = 30;  // seconds without a message from a client
    std::uint32_t max_proxies_per_client = 64;
    // Clients logged in at once (distinct runs; a client coming back to its
    // own run, or replacing it, does not count twice). 0 = no limit.
    std::uint32_t max_clients = 4096;
    // Failed logins from one address within a minute; past them its logins
    // are refused unchecked until the minute is over. 0 = no limit.
    std::uint32_t max_login_failures = 10;
    // Per client: user connections accepted and waiting for a work stream.
    // At the limit its proxies stop accepting; the kernel backlog holds the rest.
    std::uint32_t max_pending_connections = 256;
    std::uint32_t work_timeout = 10;       // seconds a user connection waits for a work stream
    // Open user connections from one address (tcp proxies, http and https
    // together) and on one tcp proxy; beyond, a new one is closed at once.
    // 0 = no limit.
    std::uint32_t max_connections_per_source = 1024;
    std::uint32_t max_connections_per_proxy = 4096;
    // Seconds a stopping server (SIGTERM, SIGINT) lets open user connections
    // finish, listeners closed, before it ends them. 0 = end them at once.
    std::uint32_t shutdown_timeout = 10;
    // Seconds a client that lost its connection keeps its proxies, ports and
    // open sessions, waiting for it to come back and re-attach them; then the
    // sessions are reset. 0 = no resumption: they go at once.
    std::uint32_t resume_timeout = 60;
    // Bytes a session keeps until its peer acknowledges them (the replay of a
    // re-attach): a full buffer stops reading from the user's socket. Sized
    // for 1 Gbit/s x 100 ms and more, so that it never limits throughput;
    // memory follows what is in flight. And the same over all sessions.
    std::uint64_t resume_buffer = 64u << 20;
    std::uint64_t resume_buffer_total = 512u << 20;

    // http/https proxies; both listen on proxy_bind_addr.
    std::uint16_t vhost_http_port = 0;     // 0 = off; routed by Host
    std::uint16_t vhost_https_port = 0;    // 0 = off; routed by TLS SNI, not terminated
    std::string subdomain_host;            // "example.com" for `subdomain` proxies; "" = none
    // Seconds a user gets to send a request header; also the keep-alive idle
    // limit and the longest stall while a body moves.
    std::uint32_t vhost_header_timeout = 60;
    std::uint64_t vhost_max_body_size = 0; // bytes of one request body; 0 = no limit
    // A request body has vhost_body_timeout seconds, plus one more for every
    // vhost_body_min_rate bytes that arrived (time spent waiting for the
    // service to take them does not count), so a trickling upload cannot hold
    // a service connection for ever. min_rate 0 = a total deadline; timeout 0 = off.
    std::uint32_t vhost_body_timeout = 20;
    std::uint32_t vhost_body_min_rate = 500;  // bytes per second
    // Seconds after start during which an unknown host gets 503 + Retry-After
    // (its client may not have registered again yet) instead of 404. 0 = off.
    std::uint32_t vhost_start_grace = 60;

    // A client listed in `clients` logs in with its own token only; any other
    // client id with the shared `token`. At least one of the two is given.
    // Revoking a device: remove (or change) its entry and reload (SIGHUP).
    struct client_token {
        std::string id, token;
    };
    struct {
        std::string token;  // shared; "" = only the listed clients may log in
        std::vector<client_token> clients;
    } auth;

    struct {
        bool enable = true;
        std::string cert_file;  // both or neither; neither = self-signed pair in data_dir
        std::string key_file;
    } tls;

    // The dashboard (web page, JSON API, /metrics): off while port is 0. On an
    // address other than loopback it needs a password.
    struct {
        std::string addr = "127.0.0.1";
        std::uint16_t port = 0;
        std::string user = "admin";
        std::string password;  // "" = no login (loopback only)
    } dashboard;

    // The rendezvous for direct (P2P) paths: STUN Binding on UDP rendezvous_port
    // and rendezvous_port + 1 of bind_addr (two ports tell a symmetric NAT from
    // a cone), told to clients at login.
    struct {
        bool enable = true;
        std::uint16_t rendezvous_port = 0;  // default: bind_port's number; 0 = any free pair
    } p2p;

    log_config log;
};

// Reads, substitutes ${ENV}, applies defaults and validates. Relative paths are
// resolved against the file's directory. Throws config_error.
server_config load_server_config(const std::string& path);

// Same, from text in memory; `path` only names the source in messages.
server_config parse_server_config(std::string_view text, const std::string& path);

}  // namespace burrow
