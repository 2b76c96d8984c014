// burrow-client's configuration: the schema (DESIGN.md §4) and its loader.
//
// Loading is parse -> defaults -> validate, and does no other I/O than reading
// the file. Defaults live in the member initialisers below. Problems are
// reported as config_error (common/config/problem.hpp).
//
// The client hands a loaded config around as std::shared_ptr<const client_config>:
// an immutable snapshot that whoever needs it keeps alive, so a later reload can
// publish a new one without leaving references to the old one dangling.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/config/sections.hpp"
#include "common/config/problem.hpp"

namespace burrow {

struct proxy_config {
    std::string name;
    std::string type = "tcp";             // "tcp", "http", "https" or "secret"
    std::string local_addr = "127.0.0.1";
    std::uint16_t local_port = 0;         // required, 1..65535
    std::uint16_t remote_port = 0;        // tcp: 0 = the server picks one
    // Bytes per second in each direction over all the proxy's connections
    // (a token bucket on the client's pumps); 0 = no limit.
    std::uint64_t bandwidth_limit = 0;

    // http and https (one of the two is required)
    std::vector<std::string> custom_domains;
    std::string subdomain;
    // http only
    std::vector<std::string> locations;   // empty = "/"
    std::string host_header_rewrite;
    std::vector<std::pair<std::string, std::string>> request_headers;
    std::vector<std::pair<std::string, std::string>> response_headers;
    std::string http_user;                // with http_password: basic auth
    std::string http_password;
    std::uint32_t response_timeout = 60;  // seconds until the local service's response header
    // Longest silence between pieces of a response body (long polls, SSE); 0 = none.
    std::uint32_t response_idle_timeout = 3600;
    bool allow_connect = false;           // CONNECT is passed to the service (405 otherwise)

    // secret only: no public port; reached through a visitor that proves it
    // knows secret_key (never sent: the server gets a key derived from it).
    std::string secret_key;                // required, at least 8 bytes
    std::vector<std::string> allow_clients; // client_ids that may visit; empty = any logged-in one
    bool p2p = false;                      // also accept a direct path (the P2P issue)

    bool operator==(const proxy_config&) const = default;  // a reload's "changed"
};

// A local port (or `burrow-client connect`'s stdin/stdout) that reaches a
// secret proxy of another client through the server.
struct visitor_config {
    std::string name;                 // required; unique among visitors
    std::string server_name;          // required: the secret proxy's name
    std::string server_client;        // its client_id, when two clients hold that name
    std::string secret_key;           // required: the proxy's secret_key
    std::string bind_addr = "127.0.0.1";
    std::uint16_t bind_port = 0;      // 0 = no listener (only `burrow-client connect`)
    bool p2p = false;                 // try a direct path (the P2P issue)

    bool operator==(const visitor_config&) const = default;
};

struct client_config {
    std::string file;

    std::string server_addr;               // required
    std::uint16_t server_port = 7000;      // 1..65535
    std::string client_id;                 // default: the host name
    // Seconds a stopping client (SIGTERM, SIGINT) lets open connections
    // finish, nothing new accepted, before it logs out. 0 = at once.
    std::uint32_t shutdown_timeout = 10;

    struct {
        std::string token;  // required, non-empty
    } auth;

    struct {
        bool enable = true;
        std::string server_fingerprint;  // "sha256:" + 64 hex digits (colons allowed)
        std::string ca_file;             // PEM; one of the two is required when enabled
        std::string server_name;         // name checked against the CA-signed certificate;
                                         // default: server_addr
    } tls;

    struct {
        std::uint32_t pool_count = 4;          // idle Work streams kept open, 0..64
        // TCP (and TLS) connections to the server that streams spread over
        // (client/channel_pool.hpp), 1..8, at most max(pool_count, 1). One by
        // default: more move more in parallel with TLS (8 streams: +25%) but
        // serve many small requests worse (fewer frames share each write).
        std::uint32_t connections = 1;
        std::uint32_t heartbeat_interval = 10; // seconds, >= 1
        std::uint32_t heartbeat_timeout = 30;  // seconds, > heartbeat_interval
        std::uint32_t dial_timeout = 10;       // seconds for connect + login
        // Seconds; reconnect delay cap: however long the server was gone, the
        // client is back within about this long of it being reachable.
        std::uint32_t max_backoff = 4;
        // Bytes a session keeps until the server acknowledges them, per
        // session and over all (see server_config::resume_buffer).
        std::uint64_t resume_buffer = 64u << 20;
        std::uint64_t resume_buffer_total = 512u << 20;
    } transport;

    // The admin API (burrow-client status): port 0, a Unix socket derived
    // from the config's path; otherwise a TCP port on a loopback address.
    struct {
        std::string addr = "127.0.0.1";
        std::uint16_t port = 0;
    } admin;

    // Direct paths (visitors and secret proxies with p2p = true).
    struct {
        // Seconds between keepalives of an idle direct path (each side sends
        // its own); RFC 4787 promises NAT mappings only 2 minutes, many keep
        // them for 30 s. 1..120.
        std::uint32_t keepalive = 15;
        // Seconds a punch may take before the relay is kept (retried later). 1..60.
        std::uint32_t punch_timeout = 5;
    } p2p;

    log_config log;
    std::vector<proxy_config> proxies;
    std::vector<visitor_config> visitors;
};

// Reads, substitutes ${ENV}, applies defaults and validates. A relative ca_file
// is resolved against the file's directory. Throws config_error.
client_config load_client_config(const std::string& path);

// Same, from text in memory; `path` only names the source in messages.
client_config parse_client_config(std::string_view text, const std::string& path);

}  // namespace burrow
