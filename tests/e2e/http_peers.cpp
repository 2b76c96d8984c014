#include "http_peers.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <stdexcept>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace burrow::e2e {

namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = boost::asio::ip::tcp;

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (auto at = s.find(from); at != npos; at = s.find(from, at + to.size()))
        s.replace(at, from.size(), to);
    return s;
}

// ---- peers: the services at home ----

void served_peer::launch(const std::vector<std::string>& argv) {
    proc_ = std::make_unique<process>(argv, dir_.file("peer.log"));
    if (!wait_listening(port_))
        throw std::runtime_error(argv[0] + " did not listen:\n" + proc_->log());
}

namespace {

constexpr const char* nginx_conf = R"(master_process off;
error_log @DIR@/error.log;
pid @DIR@/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path @DIR@/body;
    proxy_temp_path @DIR@/proxy;
    fastcgi_temp_path @DIR@/fcgi;
    uwsgi_temp_path @DIR@/uwsgi;
    scgi_temp_path @DIR@/scgi;
    server {
        listen 127.0.0.1:@PORT@ @LISTEN@;
        root @DIR@/www;
        @BODY@
    }
}
)";

constexpr const char* app_script = R"(
import hashlib, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def exactly(self, n):
        while n > 0:
            data = self.rfile.read(min(n, 1 << 16))
            if not data:
                raise ConnectionError("body cut short")
            n -= len(data)
            yield data

    def body(self):
        if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            yield from self.exactly(int(self.headers.get("Content-Length", "0")))
            return
        while True:
            size = int(self.rfile.readline().split(b";")[0], 16)
            if size == 0:
                while self.rfile.readline().strip():
                    pass
                return
            yield from self.exactly(size)
            self.rfile.readline()

    def answer(self):
        digest, size = hashlib.sha256(), 0
        for data in self.body():
            digest.update(data)
            size += len(data)
        lines = [f"backend={sys.argv[2]}", f"path={self.path}", f"body={size} {digest.hexdigest()}",
                 f"peer={self.client_address[1]}"]
        lines += [f"{k.lower()}: {v}" for k, v in self.headers.items()]
        out = ("\n".join(lines) + "\n").encode()
        if self.path.startswith("/chunked"):
            return self.chunked(out)
        if self.path.startswith("/folded"):
            return self.folded(out)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(out)))
        self.send_header("X-Backend", sys.argv[2])
        self.end_headers()
        self.wfile.write(out)

    def chunked(self, out):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Trailer", "X-Digest")
        self.send_header("X-Backend", sys.argv[2])
        self.end_headers()
        for at in range(0, len(out), 7):
            piece = out[at:at + 7]
            self.wfile.write(b"%x;at=%d\r\n%s\r\n" % (len(piece), at, piece))
        self.wfile.write(b"0\r\nX-Digest: %s\r\n\r\n" % hashlib.sha256(out).hexdigest().encode())

    def folded(self, out):
        self.send_response(200)
        self.send_header("X-Folded", "first\r\n second")  # obsolete line folding
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = answer

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
)";

constexpr const char* raw_script = R"(
import hashlib, os, socket, sys, threading, time
from urllib.parse import parse_qs, urlsplit

port = int(sys.argv[1])
log_path = os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), "requests.log")
log_lock = threading.Lock()

def log(line):
    with log_lock, open(log_path, "a") as f:
        f.write(line + "\n")

class Reader:
    def __init__(self, sock):
        self.sock, self.buf = sock, b""
    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data
    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line
    def exactly(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out
    def chunked(self):
        body = b""
        while True:
            size = int(self.line().split(b";")[0].strip(), 16)
            if size == 0:
                while self.line():
                    pass
                return body
            body += self.exactly(size)
            self.line()

def tunnel(sock, r):
    sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    data = r.buf
    while True:
        if data:
            log("piped " + data.decode("latin-1"))
            sock.sendall(data)
        data = sock.recv(65536)
        if not data:
            return

def poll(sock, target):
    kind = urlsplit(target).path
    gap = int(parse_qs(urlsplit(target).query).get("gap", ["3"])[0])
    if kind == "/poll/chunked":
        sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\npiece 1\n\r\n")
        for i in (2, 3):
            time.sleep(gap)
            sock.sendall(b"8\r\npiece %d\n\r\n" % i)
        sock.sendall(b"0\r\n\r\n")
        return True
    if kind == "/poll/sse":
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                     b"Cache-Control: no-cache\r\nConnection: close\r\n\r\ndata: event 1\n\n")
        for i in (2, 3):
            time.sleep(gap)
            sock.sendall(b"data: event %d\n\n" % i)
        return False
    if kind == "/poll/late":
        time.sleep(gap)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nlate\n")
        return True
    if kind == "/poll/gap":
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 22\r\n\r\nfirst-half|")
        time.sleep(gap)
        sock.sendall(b"second-half")
        return True
    return False

def serve(sock):
    r = Reader(sock)
    while True:
        line = r.line()
        if not line:
            continue
        method, target, version = line.decode("latin-1").split(" ", 2)
        headers = []
        while True:
            field = r.line()
            if not field:
                break
            name, _, value = field.decode("latin-1").partition(":")
            headers.append((name.strip().lower(), value.strip()))
        log(line.decode("latin-1"))
        values = lambda n: [v for k, v in headers if k == n]
        if method == "CONNECT":
            return tunnel(sock, r)
        if "chunked" in ",".join(values("transfer-encoding")).lower():
            body = r.chunked()
        elif values("content-length"):
            body = r.exactly(int(values("content-length")[0].split(",")[0]))
        else:
            body = b""
        close = version == "HTTP/1.0" or "close" in ",".join(values("connection")).lower()
        if target.startswith("/poll/"):
            if not poll(sock, target):
                return
        elif target == "/resp/te-cl":
            sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n"
                         b"\r\n5\r\nhello\r\n0\r\n\r\n")
        elif target == "/resp/cl-list":
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello")
        elif target == "/switch":
            sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                         b"Upgrade: websocket\r\n\r\n")
            while sock.recv(65536):
                pass
            return
        else:
            out = ("seen %s %s body=%d %s\n" % (method, target, len(body),
                                                hashlib.sha256(body).hexdigest())).encode()
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                         b"%s\r\n%s" % (len(out), b"Connection: close\r\n" if close else b"", out))
        if close:
            return

def guarded(sock):
    try:
        serve(sock)
    except Exception:
        pass
    finally:
        sock.close()

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(128)
while True:
    conn, _ = server.accept()
    threading.Thread(target=guarded, args=(conn,), daemon=True).start()
)";

}  // namespace

void nginx_peer::start(const std::string& server_body, const std::string& listen_options) {
    std::string conf = nginx_conf;
    for (const auto& [key, value] :
         std::map<std::string, std::string>{{"@BODY@", server_body},
                                            {"@DIR@", dir_.path()},
                                            {"@PORT@", std::to_string(port_)},
                                            {"@LISTEN@", listen_options}})
        conf = replace_all(conf, key, value);
    write_text(dir_.file("nginx.conf"), conf);
    launch({"/usr/sbin/nginx", "-e", dir_.file("error.log"), "-p", dir_.path(), "-c",
            dir_.file("nginx.conf"), "-g", "daemon off;"});
}

void nginx_peer::put(const std::string& name, const std::string& bytes) const {
    std::filesystem::create_directories(
        std::filesystem::path(dir_.file("www/" + name)).parent_path());
    write_text(dir_.file("www/" + name), bytes);
}

python_peer::python_peer(const std::string& script, const std::vector<std::string>& args) {
    write_text(dir_.file("peer.py"), script);
    std::vector<std::string> argv{"/usr/bin/python3", dir_.file("peer.py"), std::to_string(port_)};
    argv.insert(argv.end(), args.begin(), args.end());
    launch(argv);
}

app_peer::app_peer(const std::string& name) : python_peer(app_script, {name}) {}

raw_peer::raw_peer() : python_peer(raw_script, {}) {}

std::string raw_peer::seen() const { return slurp(dir().file("requests.log")); }

std::string raw_peer::answer(const std::string& method, const std::string& target,
                             const std::string& body) {
    return "seen " + method + " " + target + " body=" + std::to_string(body.size()) + " " +
           sha256_hex(body) + "\n";
}

// ---- users ----

int status_of(const std::string& head) {
    return head.rfind("HTTP/1.", 0) == 0 && head.size() >= 12 ? std::atoi(head.c_str() + 9) : 0;
}

std::string http_reply::header(const std::string& name) const {
    const auto want = lower(name) + ":";
    for (std::size_t at = 0, end; at < headers.size(); at = end + 2) {
        end = std::min(headers.find("\r\n", at), headers.size());
        const auto line = headers.substr(at, end - at);
        if (lower(line.substr(0, want.size())) == want) {
            const auto value = line.substr(want.size());
            return value.substr(std::min(value.find_first_not_of(' '), value.size()));
        }
    }
    return "";
}

std::ostream& operator<<(std::ostream& os, const http_reply& r) {
    return os << "status " << r.status << "\n"
              << r.headers << "\nbody[0:300]: " << r.body.substr(0, 300) << "\nnote: " << r.note;
}

http_reply curl(std::uint16_t port, const std::string& host, const std::string& path,
                const std::vector<std::string>& extra, const std::string& scheme) {
    temp_dir d;
    const auto host_port = host + ":" + std::to_string(port);
    std::vector<std::string> argv{"/usr/bin/curl", "-sS", "--noproxy", "*", "--max-time", "40"};
    argv.insert(argv.end(), {"--resolve", host_port + ":127.0.0.1", "-D", d.file("head"), "-o",
                             d.file("body")});
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(scheme + "://" + host_port + path);
    const auto r = run(argv, 50s);
    http_reply out;
    out.note = "exit " + std::to_string(r.code) + ": " + r.output;
    out.body = slurp(d.file("body"));
    // The last header block is the final response (after any 100 Continue).
    const auto head = slurp(d.file("head"));
    for (std::size_t at = 0, end; at < head.size(); at = end + 4) {
        end = std::min(head.find("\r\n\r\n", at), head.size());
        if (head.compare(at, 5, "HTTP/") == 0) out.headers = head.substr(at, end - at);
    }
    out.status = status_of(out.headers);
    return out;
}

testing::AssertionResult served_by(const http_reply& r, const std::string& backend) {
    if (r.status == 200 && r.body.rfind("backend=" + backend + "\n", 0) == 0)
        return testing::AssertionSuccess();
    return testing::AssertionFailure() << "expected 200 from backend " << backend << ", got " << r;
}

std::string read_head(int fd, milliseconds timeout) {
    std::string got;
    fd_deadline guard(fd, timeout);
    char c;
    while (got.find("\r\n\r\n") == npos && ::recv(fd, &c, 1, 0) == 1) got += c;
    return got;
}

std::string raw_request(std::uint16_t port, const std::string& bytes) {
    const int fd = connect_tcp(port);
    if (fd < 0) return "(connect failed)";
    send_all(fd, bytes.data(), bytes.size());
    auto head = read_head(fd);
    close(fd);
    return head;
}


std::ostream& operator<<(std::ostream& os, const exchange_result& r) {
    return os << (r.closed ? "closed" : "still open") << " after "
              << std::chrono::duration_cast<milliseconds>(r.took).count() << " ms; " << r.reply;
}

exchange_result read_to_close(int fd, milliseconds limit) {
    exchange_result out;
    const auto start = clock_type::now(), deadline = start + limit;
    char buf[65536];
    for (;;) {
        const auto left =
            std::chrono::duration_cast<milliseconds>(deadline - clock_type::now()).count();
        pollfd p{fd, POLLIN, 0};
        if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) break;
        const ssize_t k = ::recv(fd, buf, sizeof buf, 0);
        if (k <= 0) {
            out.closed = true;
            break;
        }
        out.bytes.append(buf, static_cast<std::size_t>(k));
    }
    out.took = clock_type::now() - start;
    const auto end = out.bytes.find("\r\n\r\n");
    out.reply.status = status_of(out.bytes);
    out.reply.headers = out.bytes.substr(0, end);
    out.reply.body = end == npos ? "" : out.bytes.substr(end + 4);
    return out;
}

exchange_result round_trip(std::uint16_t port, const std::string& request, milliseconds limit) {
    const int fd = connect_tcp(port);
    if (fd < 0) return {};
    send_all(fd, request.data(), request.size());
    auto out = read_to_close(fd, limit);
    close(fd);
    return out;
}

std::string get_closing(const std::string& target, const std::string& host,
                        const std::string& more_headers) {
    return "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + more_headers +
           "Connection: close\r\n\r\n";
}

std::string chunked_body(const std::string& data, std::size_t piece) {
    std::string out;
    char size[32];
    for (std::size_t at = 0; at < data.size(); at += piece) {
        const auto part = data.substr(at, piece);
        std::snprintf(size, sizeof size, "%zx\r\n", part.size());
        out += size + part + "\r\n";
    }
    return out + "0\r\n\r\n";
}

struct keep_alive_user::connection {
    explicit connection(milliseconds limit) : per_request(limit), socket(io) {}
    milliseconds per_request;
    boost::asio::io_context io;
    tcp::socket socket;
    beast::flat_buffer buffer;
};

keep_alive_user::keep_alive_user(std::uint16_t port, milliseconds per_request)
    : port_(port), connection_(std::make_unique<connection>(per_request)) {
    connection_->socket.connect({boost::asio::ip::address_v4::loopback(), port_});
}

keep_alive_user::~keep_alive_user() = default;

http_reply keep_alive_user::get(const std::string& host, const std::string& path) {
    return send("GET " + path + " HTTP/1.1\r\nHost: " + host + ":" + std::to_string(port_) +
                "\r\n\r\n");
}

http_reply keep_alive_user::send(const std::string& raw) {
    auto& c = *connection_;
    fd_deadline guard(c.socket.native_handle(), c.per_request);
    bhttp::response<bhttp::string_body> res;
    beast::error_code ec;
    boost::asio::write(c.socket, boost::asio::buffer(raw), ec);
    if (!ec) bhttp::read(c.socket, c.buffer, res, ec);
    http_reply out;
    if (ec) {
        out.note = "no response on the kept-alive connection: " + ec.message();
        return out;
    }
    std::ostringstream head;
    head << res.base();
    out.headers = head.str();
    out.status = static_cast<int>(res.result_int());
    out.body = res.body();
    return out;
}

// ---- burrow ----

std::string proxy(const std::string& name, std::uint16_t local_port, const std::string& keys,
                  const std::string& type) {
    return "[[proxies]]\nname = \"" + name + "\"\ntype = \"" + type +
           "\"\nlocal_port = " + std::to_string(local_port) + "\n" + keys + "\n";
}

std::string domains(const std::string& list) { return "custom_domains = [" + list + "]"; }

namespace {

// The vhost's server.toml lines. The start-up grace (an unknown Host gets 503
// while clients may still be registering again) is off unless the test sets
// it: TOML forbids a key twice.
std::string vhost_server_extra(std::uint16_t http_port, const std::string& server_extra) {
    std::string text = server_extra.find("vhost_start_grace") == npos ? "vhost_start_grace = 0\n"
                                                                       : "";
    return text + "vhost_http_port = " + std::to_string(http_port) +
           "\nsubdomain_host = \"lab.test\"\n" + server_extra;
}

}  // namespace

vhost_lab::vhost_lab(const std::string& server_extra)
    : lab(false, vhost_server_extra(http_port, server_extra)) {
    if (!lab.server().wait_log(R"(http vhost listening on 127\.0\.0\.1:)" +
                               std::to_string(http_port)))
        throw std::runtime_error("no http vhost:\n" + lab.server().log());
}

std::unique_ptr<process> vhost_lab::client(const std::string& proxies,
                                           const std::vector<std::string>& up) {
    auto c = lab.start_client_with(proxies);
    for (const auto& name : up)
        if (!burrow_lab::proxy_event(*c, name))
            throw std::runtime_error("proxy " + name + " did not come up:\n" + c->log() +
                                     "\nserver:\n" + lab.server().log());
    return c;
}

error_lab::error_lab(const std::string& server_extra, const std::string& proxies,
                     const std::vector<std::string>& up)
    : v(server_extra) {
    auto all = up;
    all.push_back("ok");
    client = v.client(proxy("ok", ok.port(), domains(R"("ok.test")")) + proxies, all);
}

void error_lab::expect_healthy() {
    EXPECT_TRUE(v.lab.server().running()) << v.lab.server().log();
    EXPECT_TRUE(served_by(v.get("ok.test", "/still-there"), "ok"));
}

}  // namespace burrow::e2e
