// Configuration for burrow-server and burrow-client (DESIGN.md §4).
//
// Loading is parse -> defaults -> validate, and does no other I/O than reading
// the file. Every problem found is reported as "file:line:column: key: message";
// load_*() throws config_error carrying all of them, so `verify` can print the
// whole list and `run` refuses to start before binding anything.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace burrow {

// One problem in a config file, with the position of the offending node.
struct config_problem {
    std::string file;
    std::uint32_t line = 0;    // 1-based; 0 when the problem has no position
    std::uint32_t column = 0;  // 1-based
    std::string key;           // dotted path, e.g. "proxies[1].remote_port"
    std::string message;

    // "file:line:column: key: message"
    std::string to_string() const;
};

class config_error : public std::runtime_error {
public:
    explicit config_error(std::vector<config_problem> problems);
    const std::vector<config_problem>& problems() const noexcept { return problems_; }

private:
    std::vector<config_problem> problems_;
};

// An inclusive range of TCP ports; a single port has first == last.
struct port_range {
    std::uint16_t first = 0;
    std::uint16_t last = 0;
    bool contains(std::uint16_t p) const noexcept { return p >= first && p <= last; }
};

struct log_config {
    std::string level = "info";  // trace, debug, info, warn, error, off
};

struct server_config {
    std::string file;  // absolute path of the file this was loaded from

    std::string bind_addr = "0.0.0.0";     // gRPC listener for clients
    std::uint16_t bind_port = 7000;        // 0 = any free port (logged at start)
    std::string proxy_bind_addr = "0.0.0.0";  // where tcp proxies listen
    std::vector<port_range> allow_ports;   // empty = any port >= 1024
    std::string data_dir = "burrow-data";  // relative to the config file's directory
    std::uint32_t heartbeat_timeout = 30;  // seconds without a message from a client
    std::uint32_t max_proxies_per_client = 64;
    // Per client: user connections accepted and waiting for a work stream.
    // At the limit its proxies stop accepting; the kernel backlog holds the rest.
    std::uint32_t max_pending_connections = 256;
    std::uint32_t work_timeout = 10;       // seconds a user connection waits for a work stream

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

    struct {
        std::string token;  // required, non-empty
    } auth;

    struct {
        bool enable = true;
        std::string cert_file;  // both or neither; neither = self-signed pair in data_dir
        std::string key_file;
    } tls;

    log_config log;
};

struct proxy_config {
    std::string name;
    std::string type = "tcp";             // "tcp", "http" or "https"
    std::string local_addr = "127.0.0.1";
    std::uint16_t local_port = 0;         // required, 1..65535
    std::uint16_t remote_port = 0;        // tcp: 0 = the server picks one

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
};

struct client_config {
    std::string file;

    std::string server_addr;               // required
    std::uint16_t server_port = 7000;      // 1..65535
    std::string client_id;                 // default: the host name

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
        std::uint32_t heartbeat_interval = 10; // seconds, >= 1
        std::uint32_t heartbeat_timeout = 30;  // seconds, > heartbeat_interval
        std::uint32_t dial_timeout = 10;       // seconds for connect + login
        std::uint32_t max_backoff = 30;        // seconds; reconnect delay cap
    } transport;

    log_config log;
    std::vector<proxy_config> proxies;
};

// Reads, substitutes ${ENV}, applies defaults and validates. Throws config_error.
server_config load_server_config(const std::string& path);
client_config load_client_config(const std::string& path);

// Same, from text in memory; `path` only names the source in messages.
server_config parse_server_config(std::string_view text, const std::string& path);
client_config parse_client_config(std::string_view text, const std::string& path);

// Parses "6000-6100", "7022"; nullopt-like: returns false on a malformed spec.
bool parse_port_range(std::string_view spec, port_range& out);

}  // namespace burrow
