// End-to-end test harness: real burrow binaries as child processes, plain
// blocking sockets for users and local services, all on 127.0.0.1.
//
// Readiness is awaited by watching the children's stable log lines, never by
// sleeping. Every child is killed by pid when its owner goes out of scope,
// and also when the test process dies (PR_SET_PDEATHSIG).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace burrow::e2e {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

std::string bin(const std::string& name);  // path of a built binary ($BURROW_BIN_DIR overrides)
std::string slurp(const std::string& path);
void write_text(const std::string& path, const std::string& text);

// A scratch directory removed at destruction.
// A test's directory, removed at the end; its *.log files (every process's
// output) are searched for every secret of test_secrets() first, and a test
// that finds one fails.
const std::vector<std::string>& test_secrets();

class temp_dir {
public:
    temp_dir();
    ~temp_dir();
    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

// A child process with stdout+stderr captured in `log_path`.
class process {
public:
    process(std::vector<std::string> argv, std::string log_path);
    ~process();
    process(const process&) = delete;
    process& operator=(const process&) = delete;

    int pid() const { return pid_; }
    const std::string& log_path() const { return log_path_; }
    std::string log() const { return slurp(log_path_); }

    // Waits until `regex` has matched `occurrence` times in the log; returns
    // the first capture group of that match (or the whole match). Gives up
    // early (nullopt) once the process has exited without it.
    std::optional<std::string> wait_log(const std::string& regex, milliseconds timeout = 15s,
                                        int occurrence = 1) const;
    int count_log(const std::string& regex) const;

    void kill(int sig);
    // Exit code, or -signal; nullopt on timeout.
    std::optional<int> wait_exit(milliseconds timeout = 10s);
    bool running();

private:
    bool has_exited() const;  // without reaping it

    int pid_ = -1;
    std::string log_path_;
    bool reaped_ = false;
};

// A numeric field of /proc/PID/status ("Threads", "VmRSS" in KiB); -1 when absent.
long proc_status(int pid, const std::string& field);

// Runs a command to completion; returns exit code and output.
struct run_result {
    int code;
    std::string output;
};
run_result run(const std::vector<std::string>& argv, milliseconds timeout = 30s);

// ---- sockets ----
int listen_tcp(std::uint16_t port = 0);   // 127.0.0.1; returns fd
std::uint16_t local_port(int fd);
int connect_tcp(std::uint16_t port);      // -1 on failure
bool send_all(int fd, const void* data, std::size_t n);
std::string recv_all(int fd, milliseconds timeout = 60s);  // until EOF
std::string random_bytes(std::size_t n, std::uint32_t seed);
std::string sha256_hex(const std::string& data);
std::uint16_t free_port();
// Connects to 127.0.0.1:port until it accepts (a peer that just started); false on timeout.
bool wait_listening(std::uint16_t port, milliseconds timeout = 10s);

// Shuts `fd` down (both ways) if it is still in use after `limit`, so that a
// blocking read or write in a test cannot hang it. Disarmed at destruction.
class fd_deadline {
public:
    fd_deadline(int fd, milliseconds limit);
    ~fd_deadline();
    fd_deadline(const fd_deadline&) = delete;
    fd_deadline& operator=(const fd_deadline&) = delete;

private:
    std::mutex mutex_;
    std::condition_variable done_cv_;
    bool done_ = false;
    std::thread watchdog_;
};

// A local service: accepts on an ephemeral port, runs `handler(fd)` in a
// thread per connection (test traffic only), closes fd after the handler.
class tcp_service {
public:
    explicit tcp_service(std::function<void(int fd)> handler, std::uint16_t port = 0);
    ~tcp_service();
    std::uint16_t port() const { return port_; }
    int accepted() const { return accepted_.load(); }

private:
    int listen_fd_;
    std::uint16_t port_;
    std::atomic<bool> stop_{false};
    std::atomic<int> accepted_{0};
    std::thread acceptor_;
    std::vector<std::thread> workers_;
};

// Echo until EOF, then half-close.
void echo_handler(int fd);
// Sends `n` random bytes through 127.0.0.1:port and expects them back (an
// echo service behind it), within 10 s.
bool echo_works(std::uint16_t port, std::size_t n = 4096);

// ---- burrow ----
struct proxy_spec {
    std::string name;
    std::uint16_t local_port;
    std::uint16_t remote_port = 0;
};

// One burrow-server and helpers to start clients against it.
class burrow_lab {
public:
    // `server_extra` goes into server.toml's top level, `tls_extra` into its [tls].
    explicit burrow_lab(bool tls = false, std::string server_extra = "",
                        std::string tls_extra = "");

    std::uint16_t server_port() const { return server_port_; }
    process& server() { return *server_; }
    const std::string& fingerprint() const { return fingerprint_; }
    temp_dir& dir() { return dir_; }

    void start_server(std::uint16_t port = 0);
    void kill_server(int sig = 9);

    std::string client_config(const std::vector<proxy_spec>& proxies,
                              const std::string& extra = "", const std::string& token = "") const;
    std::unique_ptr<process> start_client(const std::string& config_text,
                                          const std::string& name = "client");
    // A client whose proxies are `proxies_toml`: [[proxies]] tables written by the test.
    std::unique_ptr<process> start_client_with(const std::string& proxies_toml) {
        return start_client(client_config({}) + proxies_toml);
    }
    // Starts a client with one tcp proxy and waits for it: {client, remote port};
    // the port is 0 when the proxy did not come up.
    struct exposed {
        std::unique_ptr<process> client;
        std::uint16_t port;
    };
    exposed expose(const std::string& name, std::uint16_t local_port,
                   std::uint16_t remote_port = 0);

    // Waits for "[name] proxy up: remote port N" and returns N (0 on timeout).
    static std::uint16_t proxy_port(const process& client, const std::string& name,
                                    int occurrence = 1, milliseconds timeout = 15s);
    // Waits for the client's "[name] proxy <event>: <text>" line (event "up" or
    // "rejected") and returns <text>; nullopt on timeout.
    static std::optional<std::string> proxy_event(const process& client, const std::string& name,
                                                  const std::string& event = "up",
                                                  milliseconds timeout = 15s);

    static constexpr const char* token = "e2e-token-7f3a9c";

private:
    temp_dir dir_;
    bool tls_;
    std::string server_extra_;
    std::string tls_extra_;
    std::unique_ptr<process> server_;
    std::uint16_t server_port_ = 0;
    std::string fingerprint_;
    int clients_ = 0;
};

// A lab whose server reloads an edited server.toml (SIGHUP).
class reload_lab {
public:
    reload_lab() : base_(slurp(lab.dir().file("server.toml"))) {}

    // Writes server.toml as it started with `head` before it (top-level keys)
    // and `tail` after it (tables), and has the server reload it; waits for
    // the `occurrence`th outcome line (reloaded or refused).
    bool reload(const std::string& head, const std::string& tail, int occurrence);

    burrow_lab lab;

private:
    const std::string base_;
};

}  // namespace burrow::e2e
