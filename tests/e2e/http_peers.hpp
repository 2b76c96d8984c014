// The HTTP vhost's end-to-end cast, shared by http_test and http_security_test:
// home services (nginx, a small Python HTTP server, a raw-socket one that
// frames requests strictly, any Python program), users (curl, raw sockets, a
// keep-alive Beast client) and a burrow-server with its HTTP vhost. Everything on 127.0.0.1; host names reach the vhost port through
// curl --resolve or a Host header.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace burrow::e2e {

using clock_type = std::chrono::steady_clock;
inline constexpr auto npos = std::string::npos;

std::string lower(std::string s);
std::string replace_all(std::string s, const std::string& from, const std::string& to);

// ---- peers: the services at home ----

// A program listening on a free loopback port, ready once it accepts.
class served_peer {
public:
    std::uint16_t port() const { return port_; }
    const temp_dir& dir() const { return dir_; }

protected:
    void launch(const std::vector<std::string>& argv);

    temp_dir dir_;
    std::uint16_t port_ = free_port();
    std::unique_ptr<process> proc_;
};

// nginx with one server block; files to serve go under dir()/www first. Every
// path it writes is in its own directory. One process (no master/worker pair),
// so that killing its pid leaves no orphaned worker behind.
class nginx_peer : public served_peer {
public:
    void start(const std::string& server_body, const std::string& listen_options = "");
    void put(const std::string& name, const std::string& bytes) const;
};

// A Python program given as its text, run as `python3 SCRIPT PORT ARGS...`.
class python_peer : public served_peer {
public:
    python_peer(const std::string& script, const std::vector<std::string>& args);
};

// Answers every request (any method, keep-alive, chunked or sized body) with
// text/plain lines: "backend=NAME", "path=...", "body=SIZE SHA256" and the
// "peer=PORT" (the port the request came from: one per connection), and the
// request headers as "lowercased-name: value"; response header X-Backend: NAME.
// Under /chunked the answer is chunked instead: pieces of 7 bytes with a
// chunk extension each, and the body's sha256 in an X-Digest trailer. Under
// /folded it has a header field folded over two lines (obsolete).
class app_peer : public python_peer {
public:
    explicit app_peer(const std::string& name);
};

// A keep-alive HTTP/1.1 server on raw sockets (no http.server), one thread
// per connection. A body is framed as RFC 9112 6.3 tells a server:
// Transfer-Encoding that names chunked anywhere wins over Content-Length (read
// leniently: "+3" and "3, 3" are 3), so it is the service a smuggled message
// would fool. Every request line it parsed goes to its log, seen(), and
// "piped ..." for bytes a CONNECT tunnel carried. Answers answer(...) with 200
// (and Content-Length), except:
//   CONNECT            200 Connection established, then echoes bytes
//   /resp/te-cl        a response with Transfer-Encoding: chunked and Content-Length
//   /resp/cl-list      a response with Content-Length: 5, 5
//   /switch            101 Switching Protocols, asked for or not
//   /poll/chunked      chunked: the header and "piece 1" at once, two more pieces `gap` s apart
//   /poll/sse          text/event-stream until close: three events `gap` s apart
//   /poll/late         the whole answer after `gap` s
//   /poll/gap          Content-Length 22: "first-half|" at once, "second-half" `gap` s later
// (`gap` from the query, 3 by default).
class raw_peer : public python_peer {
public:
    raw_peer();
    // The request lines (and tunnelled bytes) it has seen so far.
    std::string seen() const;
    // Its body for a request it read whole: "seen METHOD TARGET body=SIZE SHA256\n".
    static std::string answer(const std::string& method, const std::string& target,
                              const std::string& body = "");
};

// ---- users ----

// The status code of a response head "HTTP/1.x NNN ..."; 0 for anything else.
int status_of(const std::string& head);

struct http_reply {
    int status = 0;       // of the final response; 0 when there was none
    std::string headers;  // the final response's header block
    std::string body;
    std::string note;  // curl's exit code and messages, or the socket error

    std::string header(const std::string& name) const;
};

std::ostream& operator<<(std::ostream& os, const http_reply& r);

// `scheme://host:port/path` with host resolved to 127.0.0.1; `extra` are curl options.
http_reply curl(std::uint16_t port, const std::string& host, const std::string& path,
                const std::vector<std::string>& extra = {}, const std::string& scheme = "http");

// 200 from the app peer called `backend` (its first body line names it).
testing::AssertionResult served_by(const http_reply& r, const std::string& backend);

// Reads a response head (up to the blank line), or what came before EOF/timeout.
std::string read_head(int fd, milliseconds timeout = 10s);

// Sends raw bytes on a new connection and returns the response head.
std::string raw_request(std::uint16_t port, const std::string& bytes);

// What one user connection brought back, read until the server closed it.
struct exchange_result {
    http_reply reply;     // parsed from `bytes`: status, header block, the rest as body
    std::string bytes;    // everything received
    bool closed = false;  // the server ended the connection before the limit
    clock_type::duration took{};
};

std::ostream& operator<<(std::ostream& os, const exchange_result& r);

// Reads `fd` until the server closes it or `limit` passes.
exchange_result read_to_close(int fd, milliseconds limit);

// Sends `request` on a new connection and reads until the server closes it.
exchange_result round_trip(std::uint16_t port, const std::string& request,
                           milliseconds limit = 10s);

// A GET request that asks the server to close after the answer.
std::string get_closing(const std::string& target, const std::string& host,
                        const std::string& more_headers = "");

// `data` as a chunked body in pieces of `piece` bytes.
std::string chunked_body(const std::string& data, std::size_t piece);

// A user holding one keep-alive connection to the vhost port (Beast client).
class keep_alive_user {
public:
    explicit keep_alive_user(std::uint16_t port, milliseconds per_request = 5s);
    ~keep_alive_user();
    keep_alive_user(const keep_alive_user&) = delete;
    keep_alive_user& operator=(const keep_alive_user&) = delete;

    // GET on this connection; status 0 (and the error in note) when no response came.
    http_reply get(const std::string& host, const std::string& path = "/");
    // Sends `raw` request bytes and reads one response.
    http_reply send(const std::string& raw);
    // Reads one more response without sending anything (pipelined requests).
    http_reply read() { return send(""); }

private:
    struct connection;  // Beast and Asio stay in http_peers.cpp
    std::uint16_t port_;
    std::unique_ptr<connection> connection_;
};

// ---- burrow ----

// One [[proxies]] table: `keys` are further TOML lines (custom_domains = [...] etc.).
std::string proxy(const std::string& name, std::uint16_t local_port, const std::string& keys,
                  const std::string& type = "http");

std::string domains(const std::string& list);

// A burrow-server with its HTTP vhost on `http_port` (subdomain_host "lab.test").
// Without a vhost_start_grace in `server_extra` the grace is off, so that a
// Host no proxy serves gets its 404 at once.
struct vhost_lab {
    std::uint16_t http_port = free_port();
    burrow_lab lab;

    explicit vhost_lab(const std::string& server_extra = "");

    // A client with these [[proxies]]; waits for "[name] proxy up" of each of `up`.
    std::unique_ptr<process> client(const std::string& proxies,
                                    const std::vector<std::string>& up);

    http_reply get(const std::string& host, const std::string& path = "/",
                   const std::vector<std::string>& extra = {}) const {
        return curl(http_port, host, path, extra);
    }
};

// A vhost server with a healthy proxy "ok" (ok.test) beside the proxies under test.
struct error_lab {
    app_peer ok{"ok"};
    vhost_lab v;
    std::unique_ptr<process> client;

    explicit error_lab(const std::string& server_extra = "", const std::string& proxies = "",
                       const std::vector<std::string>& up = {});

    // The server survived what the test did and still serves other users.
    void expect_healthy();
};

}  // namespace burrow::e2e
