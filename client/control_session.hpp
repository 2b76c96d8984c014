// One connection of burrow-client to the server: login, proxy registration,
// heartbeats and the pool of idle Work streams. When it ends (for any
// reason) it reports once through `on_end`; the client then reconnects.
// State lives on the session's strand.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <grpcpp/channel.h>

#include "burrow.grpc.pb.h"
#include "common/grpc/message_queue.hpp"

namespace burrow {

namespace stream {
class pump;
class registry;
}

struct client_config;
struct proxy_config;
class config_source;
class client_control_reactor;
class resumer;
class punch_manager;
struct punch_request_msg;
struct punch_answer_msg;
class call_census;
struct tracked_stub;

struct session_end {
    bool logged_in = false;   // the login had succeeded
    std::string run_id;       // the run to resume on the next login
    bool forget_run = false;  // the server refused the login: resume no run
    std::uint32_t resume_timeout = 0;  // seconds the server keeps the run (from the login)
    std::string reason;       // one plain line
    // How the connection failed, when that says more than `reason`: a
    // connection closed or a TLS handshake failed before login may be TLS
    // on one side only (the client probes to tell).
    enum class failure_kind { none, closed, tls_handshake, server_stopping };
    failure_kind failure = failure_kind::none;
    // The connection under it is to be left, not waited for: the server was
    // silent, or the network changed (a new route or source address). The
    // client reconnects on a fresh channel and re-attaches its sessions.
    bool stale_connection = false;
    // The proxies the server holds for the run (what was last registered):
    // a resumed run starts from them.
    std::shared_ptr<const client_config> registered;
};

// gRPC's status of a failed Control stream as one plain line ("connection
// refused (is burrow-server running there?)" rather than "failed to connect to
// all addresses; last error: UNKNOWN: ipv4:...: Failed to connect to remote
// host: Connection refused"), and what kind of failure it is.
std::pair<std::string, session_end::failure_kind> describe_status(const grpc::Status& status);

class control_session : public std::enable_shared_from_this<control_session> {
public:
    // `sessions` gets each user connection's session (it outlives this
    // Control stream: a session may outlast a reconnect).
    // `config` gives the proxies in force (a reload changes them); the rest
    // is read once, at construction. `registered` is what the server holds
    // for `previous_run_id` (session_end::registered), if that run resumes.
    control_session(boost::asio::io_context& io, std::shared_ptr<const config_source> config,
                    std::shared_ptr<grpc::Channel> channel, std::shared_ptr<call_census> calls,
                    std::function<std::shared_ptr<tracked_stub>()> work,
                    std::string previous_run_id, std::shared_ptr<const client_config> registered,
                    stream::registry& sessions, std::function<void(session_end)> on_end);
    ~control_session();

    // What each successful login tells (set before start()).
    struct login_info {
        std::string run_id;
        std::uint32_t resume_timeout = 0;  // seconds the server keeps the run after a break
        std::uint16_t rendezvous_port = 0; // the server's STUN port (and +1); 0 = none
    };
    using login_handler = std::function<void(const login_info&)>;
    void on_login(login_handler f) { on_login_ = std::move(f); }
    // Told each proxy's registration result: "up: ..." or "rejected: ...";
    // "" when a reload removed it.
    void on_proxy(std::function<void(const std::string& name, const std::string& state)> f) {
        on_proxy_ = std::move(f);
    }
    // Where resumable sessions are re-attached from (before start()).
    void set_resumer(std::shared_ptr<resumer> r) { resumer_ = std::move(r); }
    // Who handles punch offers and starts for direct paths (before start()).
    void set_punches(std::shared_ptr<punch_manager> p) { punches_ = std::move(p); }
    // Punch signalling to the server, from any thread; dropped unless logged in.
    void send_punch(const punch_request_msg& m);
    void send_punch(const punch_answer_msg& m);
    // Relayed visit `session_id` runs on a direct path now (SessionMoved).
    void send_moved(std::uint64_t session_id);
    void start();
    // Asks the server to close every proxy (a stopping client drains: no new
    // user connections come, the open ones go on).
    void close_proxies();
    // Brings the server's proxies in line with the config in force (after a
    // reload): removed ones are closed, added ones registered, changed ones
    // closed and registered again; unchanged ones are not touched. Once
    // logged in; a login registers what is in force then.
    void sync();
    // Logs out (the server lets the run go at once), then ends.
    void stop(std::string reason);
    // The connection under it is no good any more (the network changed):
    // ends now, as a stale connection (session_end::stale_connection).
    void drop(std::string reason);

    // ---- reactions of the Control stream (gRPC threads) ----
    void on_read_done(bool ok);
    void on_write_done(bool ok);
    void on_done(const grpc::Status& status);

    // ---- from Work streams ----
    void on_work_started();  // an idle stream got a user connection
    void on_work_lost();     // an idle stream ended unused
    // A session the server made resumable (its start carried `secret`).
    void make_resumable(const std::shared_ptr<stream::pump>& p, std::uint64_t id,
                        const std::string& secret);

private:
    void read_next();
    void handle(const v1::ServerMessage& msg);
    void send(v1::ClientMessage msg);
    void tick();
    void top_up();
    void report_direct();
    void open_work(std::uint32_t n, bool asked);  // asked: for a NewWork
    void end(std::string reason);

    boost::asio::io_context& io_;
    stream::registry& sessions_;
    const std::shared_ptr<const config_source> source_;
    const std::shared_ptr<const client_config> config_;  // at construction: server, auth, transport
    std::shared_ptr<const client_config> registered_;    // whose proxies the server holds
    void sync_now();
    void register_proxy(const proxy_config& p);
    boost::asio::strand<boost::asio::io_context::executor_type> strand_;
    std::shared_ptr<v1::Tunnel::Stub> stub_;       // Control
    std::shared_ptr<call_census> calls_;             // the Control call joins it
    std::function<std::shared_ptr<tracked_stub>()> work_stub_;  // Work, raw frames: a channel's
    std::string previous_run_id_;
    std::function<void(session_end)> on_end_;
    login_handler on_login_;
    std::function<void(const std::string&, const std::string&)> on_proxy_;
    std::shared_ptr<resumer> resumer_;
    std::shared_ptr<punch_manager> punches_;
    std::atomic<std::uint32_t> resume_timeout_{0};  // the server's, from the login
    bool leaving_ = false;  // a Logout is on its way
    bool login_rejected_ = false;
    std::string leave_reason_;
    std::chrono::steady_clock::time_point leave_at_;
    client_control_reactor* reactor_ = nullptr;  // valid until end()

    v1::ServerMessage in_;
    message_queue<v1::ClientMessage> out_;

    bool logged_in_ = false;
    bool ended_ = false;
    std::string run_id_;
    std::string end_reason_;
    bool stale_ = false;  // ended for a silence or a network change
    bool reported_direct_ = false;  // the last DirectReport listed some
    // Tells on_end_ once (on the strand).
    void report_end(const std::pair<std::string, session_end::failure_kind>& described);
    std::chrono::steady_clock::time_point started_, last_seen_, last_ping_;
    boost::asio::steady_timer tick_timer_;
    std::uint32_t idle_work_ = 0;  // Work streams open and not yet used
};

}  // namespace burrow
