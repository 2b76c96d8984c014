#include "harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace burrow::e2e {

// BURROW_BIN_DIR in the environment runs the same tests against another build's binaries.
std::string bin(const std::string& name) {
    const char* dir = std::getenv("BURROW_BIN_DIR");
    return std::string(dir && *dir ? dir : BURROW_BIN_DIR) + "/" + name;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

long proc_status(int pid, const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    const std::string key = field + ":";
    for (std::string line; std::getline(in, line);)
        if (line.rfind(key, 0) == 0) return std::stol(line.substr(key.size()));
    return -1;
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

temp_dir::temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "burrow-e2e-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
}

// Every secret the tests hand to Burrow (tokens, keys, passwords, the wrong
// ones too): none may appear in any log a test's directory holds.
const std::vector<std::string>& test_secrets() {
    static const std::vector<std::string> secrets{
        burrow_lab::token,  "home-token-41c0de",  "nas-token-93a7be", "wrong-token",
        "home-secret-42",   "not-the-key-123",    "dash-pw-5b1e",     "example-password",
        "example-dashboard-password"};
    return secrets;
}

namespace {
void check_logs_for_secrets(const std::string& dir) {
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_regular_file(ec) || it->path().extension() != ".log") continue;
        const auto text = slurp(it->path().string());
        for (const auto& secret : test_secrets())
            if (const auto at = text.find(secret); at != std::string::npos) {
                const auto from = text.rfind('\n', at);
                const auto line = text.substr(from == std::string::npos ? 0 : from + 1,
                                              text.find('\n', at) - (from == std::string::npos ? 0 : from + 1));
                ADD_FAILURE() << "a secret (" << secret << ") is in the log "
                              << it->path().filename().string() << ": " << line;
            }
    }
}
}  // namespace

temp_dir::~temp_dir() {
    check_logs_for_secrets(path_);
    std::error_code ec;
    if (!std::getenv("BURROW_KEEP_TMP")) std::filesystem::remove_all(path_, ec);
}

// Clients started by the tests put their admin socket in XDG_RUNTIME_DIR
// (client/admin.cpp), /tmp by default: a client a test kills leaves its
// socket file there. This process's tests point it at a directory of their
// own instead, removed when the process exits.
namespace {
struct runtime_dir {
    temp_dir dir;
    runtime_dir() { ::setenv("XDG_RUNTIME_DIR", dir.path().c_str(), 1); }
};
const runtime_dir tests_runtime_dir;
}  // namespace

// ---- process ----

process::process(std::vector<std::string> argv, std::string log_path)
    : log_path_(std::move(log_path)) {
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
}

process::~process() {
    if (!reaped_) {
        ::kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
}

std::optional<std::string> process::wait_log(const std::string& regex, milliseconds timeout,
                                             int occurrence) const {
    const std::regex re(regex);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        // Read before asking whether it exited: a child that has exited wrote all it will.
        const bool exited = reaped_ || has_exited();
        const std::string text = log();
        int seen = 0;
        for (auto it = std::sregex_iterator(text.begin(), text.end(), re);
             it != std::sregex_iterator(); ++it) {
            if (++seen == occurrence) return (*it).size() > 1 ? (*it)[1].str() : (*it)[0].str();
        }
        if (exited || std::chrono::steady_clock::now() > deadline) return std::nullopt;
        std::this_thread::sleep_for(20ms);  // polling the log file, not waiting for time
    }
}

int process::count_log(const std::string& regex) const {
    const std::regex re(regex);
    const std::string text = log();
    return static_cast<int>(
        std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}

bool process::has_exited() const {
    siginfo_t info{};
    // WNOWAIT: the child stays a zombie, to be reaped by wait_exit() or running().
    return waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
           info.si_pid == pid_;
}

void process::kill(int sig) {
    if (!reaped_) ::kill(pid_, sig);
}

std::optional<int> process::wait_exit(milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!reaped_) {
        int status = 0;
        pid_t r = waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            reaped_ = true;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
        }
        if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
        std::this_thread::sleep_for(10ms);
    }
    return std::nullopt;
}

bool process::running() {
    if (reaped_) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        return false;
    }
    return true;
}

run_result run(const std::vector<std::string>& argv, milliseconds timeout) {
    temp_dir d;
    process p(argv, d.file("out"));
    auto code = p.wait_exit(timeout);
    if (!code) {
        p.kill(SIGKILL);
        p.wait_exit();
        return {-1000, p.log()};
    }
    return {*code, p.log()};
}

// ---- sockets ----

int listen_tcp(std::uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 4096) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

std::uint16_t local_port(int fd) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
}

// A port nothing listens on, for a program under test to bind. It comes
// from below the kernel's ephemeral range: a port the kernel hands out (to
// a bind to 0, or as the source of any outgoing connection, of which the
// tests beside this one make thousands) can be taken again between this
// call and the program's bind; one below that range only by another test
// drawing the same number out of some twenty thousand.
std::uint16_t free_port() {
    unsigned ephemeral_low = 32768;
    if (std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range"); range) range >> ephemeral_low;
    constexpr unsigned lowest = 10000;
    if (ephemeral_low > lowest + 1000) {
        static std::mt19937 draw(std::random_device{}() ^ static_cast<unsigned>(getpid()));
        std::uniform_int_distribution<unsigned> pick(lowest, std::min(ephemeral_low, 65536u) - 1);
        for (int attempt = 0; attempt < 64; ++attempt) {
            const auto candidate = static_cast<std::uint16_t>(pick(draw));
            if (int fd = listen_tcp(candidate); fd >= 0) {
                close(fd);
                return candidate;
            }
        }
    }
    int fd = listen_tcp(0);
    auto p = local_port(fd);
    close(fd);
    return p;
}

bool wait_listening(std::uint16_t port, milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (int fd = connect_tcp(port); fd >= 0) {
            close(fd);
            return true;
        }
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(20ms);  // polling the port, not waiting for time
    }
}

fd_deadline::fd_deadline(int fd, milliseconds limit)
    : watchdog_([this, fd, limit] {
          std::unique_lock lock(mutex_);
          if (!done_cv_.wait_for(lock, limit, [this] { return done_; })) ::shutdown(fd, SHUT_RDWR);
      }) {}

fd_deadline::~fd_deadline() {
    {
        std::lock_guard lock(mutex_);
        done_ = true;
    }
    done_cv_.notify_all();
    watchdog_.join();
}

int connect_tcp(std::uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

bool send_all(int fd, const void* data, std::size_t n) {
    auto* p = static_cast<const char*>(data);
    while (n > 0) {
        ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0) return false;
        p += k;
        n -= static_cast<std::size_t>(k);
    }
    return true;
}

std::string recv_all(int fd, milliseconds timeout) {
    std::string out;
    char buf[65536];
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<milliseconds>(deadline -
                                                             std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
        ssize_t k = ::recv(fd, buf, sizeof buf, 0);
        if (k <= 0) break;
        out.append(buf, static_cast<std::size_t>(k));
    }
    return out;
}

std::string random_bytes(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::string out(n, '\0');
    for (std::size_t i = 0; i + 4 <= n; i += 4) {
        std::uint32_t v = rng();
        std::memcpy(&out[i], &v, 4);
    }
    return out;
}

std::string sha256_hex(const std::string& data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
    std::string out;
    char hex[3];
    for (unsigned i = 0; i < len; ++i) {
        std::snprintf(hex, sizeof hex, "%02x", md[i]);
        out += hex;
    }
    return out;
}

tcp_service::tcp_service(std::function<void(int)> handler, std::uint16_t port)
    : listen_fd_(listen_tcp(port)), port_(local_port(listen_fd_)) {
    if (listen_fd_ < 0) throw std::runtime_error("tcp_service: cannot listen");
    acceptor_ = std::thread([this, handler = std::move(handler)] {
        while (!stop_) {
            pollfd p{listen_fd_, POLLIN, 0};
            if (poll(&p, 1, 50) <= 0) continue;
            int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) continue;
            ++accepted_;
            workers_.emplace_back([fd, handler] {
                handler(fd);
                close(fd);
            });
        }
    });
}

tcp_service::~tcp_service() {
    stop_ = true;
    acceptor_.join();
    close(listen_fd_);
    for (auto& w : workers_) w.join();
}

bool echo_works(std::uint16_t port, std::size_t n) {
    int fd = connect_tcp(port);
    if (fd < 0) return false;
    fd_deadline guard(fd, 10s);
    const auto data = random_bytes(n, 11);
    std::thread writer([&] {
        send_all(fd, data.data(), data.size());
        shutdown(fd, SHUT_WR);
    });
    const auto got = recv_all(fd, 10s);
    writer.join();
    close(fd);
    return got == data;
}

void echo_handler(int fd) {
    char buf[65536];
    for (;;) {
        ssize_t k = ::recv(fd, buf, sizeof buf, 0);
        if (k <= 0) break;
        if (!send_all(fd, buf, static_cast<std::size_t>(k))) return;
    }
    shutdown(fd, SHUT_WR);
}

// ---- burrow ----

burrow_lab::burrow_lab(bool tls, std::string server_extra, std::string tls_extra)
    : tls_(tls), server_extra_(std::move(server_extra)), tls_extra_(std::move(tls_extra)) {
    start_server();
}

void burrow_lab::start_server(std::uint16_t port) {
    write_text(dir_.file("server.toml"),
               "bind_addr = \"127.0.0.1\"\n"
               "bind_port = " + std::to_string(port) + "\n"
               "proxy_bind_addr = \"127.0.0.1\"\n"
               "data_dir = \"data\"\n"
               "heartbeat_timeout = 6\n" +
                   server_extra_ +
                   "\n[auth]\ntoken = \"" + token + "\"\n"
                   "[tls]\nenable = " + (tls_ ? "true" : "false") + "\n" + tls_extra_ +
                   // A restart on the same TCP port takes any free pair of UDP
                   // ports for the rendezvous, not that port's number, which
                   // another test's socket may hold.
                   (server_extra_.find("[p2p]") == std::string::npos
                        ? "[p2p]\nrendezvous_port = 0\n"
                        : ""));
    server_.reset();
    server_ = std::make_unique<process>(
        std::vector<std::string>{bin("burrow-server"), "-c", dir_.file("server.toml")},
        dir_.file("server.log"));
    const int starts = 1 + (server_port_ ? 1 : 0);
    auto p = server_->wait_log(R"(listening for clients on 127\.0\.0\.1:(\d+))", 15s, starts);
    if (!p) throw std::runtime_error("server did not start:\n" + server_->log());
    server_port_ = static_cast<std::uint16_t>(std::stoi(*p));
    if (tls_) {
        auto fp = server_->wait_log(R"(fingerprint: (sha256:[0-9a-f]{64}))", 5s, starts);
        if (!fp) throw std::runtime_error("no fingerprint in server log");
        fingerprint_ = *fp;
    }
}

void burrow_lab::kill_server(int sig) {
    server_->kill(sig);
    server_->wait_exit();
}

std::string burrow_lab::client_config(const std::vector<proxy_spec>& proxies,
                                      const std::string& extra, const std::string& tok) const {
    std::string text = "server_addr = \"127.0.0.1\"\nserver_port = " +
                       std::to_string(server_port_) + "\n" + extra + "\n[auth]\ntoken = \"" +
                       (tok.empty() ? token : tok) + "\"\n";
    if (tls_)
        text += "[tls]\nserver_fingerprint = \"" + fingerprint_ + "\"\n";
    else
        text += "[tls]\nenable = false\n";
    text += "[transport]\npool_count = 4\nheartbeat_interval = 2\nheartbeat_timeout = 6\n"
            "max_backoff = 2\n";
    for (const auto& p : proxies)
        text += "[[proxies]]\nname = \"" + p.name + "\"\nlocal_port = " +
                std::to_string(p.local_port) + "\nremote_port = " + std::to_string(p.remote_port) +
                "\n";
    return text;
}

std::unique_ptr<process> burrow_lab::start_client(const std::string& config_text,
                                                  const std::string& name) {
    const auto n = std::to_string(++clients_);
    write_text(dir_.file(name + n + ".toml"), config_text);
    return std::make_unique<process>(
        std::vector<std::string>{bin("burrow-client"), "-c", dir_.file(name + n + ".toml")},
        dir_.file(name + n + ".log"));
}

burrow_lab::exposed burrow_lab::expose(const std::string& name, std::uint16_t local_port,
                                       std::uint16_t remote_port) {
    auto client = start_client(client_config({{name, local_port, remote_port}}));
    const auto port = proxy_port(*client, name);
    return {std::move(client), port};
}

bool reload_lab::reload(const std::string& head, const std::string& tail, int occurrence) {
    write_text(lab.dir().file("server.toml"), head + base_ + tail);
    lab.server().kill(SIGHUP);
    return lab.server()
        .wait_log(R"((reloaded .*server\.toml|reload of .*server\.toml refused))", 10s, occurrence)
        .has_value();
}

std::uint16_t burrow_lab::proxy_port(const process& client, const std::string& name,
                                     int occurrence, milliseconds timeout) {
    auto p = client.wait_log(R"(\[)" + name + R"(\] proxy up: remote port (\d+))", timeout,
                             occurrence);
    return p ? static_cast<std::uint16_t>(std::stoi(*p)) : 0;
}

std::optional<std::string> burrow_lab::proxy_event(const process& client, const std::string& name,
                                                   const std::string& event,
                                                   milliseconds timeout) {
    return client.wait_log(R"(\[)" + name + R"(\] proxy )" + event + R"(: ([^\n]*))", timeout);
}

}  // namespace burrow::e2e
