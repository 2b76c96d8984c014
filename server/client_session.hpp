// One logged-in (or logging-in) client on the server: its Control stream,
// its proxies, its idle Work streams and the user connections waiting for one.
// All state lives on the session's strand; public methods post to it.
//
// A run outlives a broken Control stream: the session is *away* for up to
// resume_timeout, its proxies stay registered and their ports open, and the
// client's next login that names this run (Login.previous_run_id) moves its
// new Control stream here (resume_run) instead of starting over. A Logout,
// a kick or the end of resume_timeout ends the run for good.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <string>

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "common/unique_function.hpp"
#include "server/conn_limits.hpp"
#include "server/work_pool.hpp"

namespace grpc {
class Status;
}
namespace burrow::v1 {
class ClientMessage;
class Login;
class ProxyResult;
class ProxySpec;
class ServerMessage;
class DirectReport;
}  // namespace burrow::v1

namespace burrow {

struct server_state;
class tcp_proxy;
namespace stream {
class pump;
}
class control_reactor;

class client_session : public std::enable_shared_from_this<client_session> {
public:
    client_session(server_state& st, control_reactor* reactor, std::string peer);
    ~client_session();

    void start();

    // ---- reactions of the Control stream `from` (gRPC threads) ----
    // Those of a stream the run has left behind are ignored.
    void on_read_done(control_reactor* from, bool ok);
    void on_write_done(control_reactor* from, bool ok);
    void on_cancel(control_reactor* from);

    // A Work stream that presented this session's run id; `asked`: it
    // answers a NewWork (work_pool::offer).
    void offer_work(std::shared_ptr<stream::pump> work, bool asked);
    using stream_socket = boost::asio::generic::stream_protocol::socket;
    // A user connection for one of this session's proxies, from `peer` (the
    // user's address): `end` is started on a Work stream once one is paired
    // (work_pool::local_end), on the session's strand. `quiet`: logged at
    // debug level (the HTTP vhost's upstreams). Returns false when the proxy
    // should pause accepting until resume().
    // A visit's service end instead of a session of our own: the visit's
    // session id, and the secret this client presents to re-attach its end
    // ("": not resumable).
    struct visit_end {
        std::uint64_t id = 0;
        std::string secret;
        std::string resume_direct;  // a serialized DirectResume, or ""
        std::string move_secret;    // see WorkStart.move_secret
    };
    bool connect(std::string proxy, std::string peer, work_pool::local_end end,
                 bool quiet = false, const visit_end* visit = nullptr,
                 conn_limits::ticket admission = {});
    // An accepted TCP connection (or an https one after its ClientHello,
    // which is `already_read`).
    // `admission` counts it as open from its address until it ends.
    bool dispatch(std::string proxy, stream_socket socket, std::string peer,
                  std::string already_read, conn_limits::ticket admission) {
        return connect(std::move(proxy), std::move(peer),
                       work_pool::socket_end(std::move(socket), std::move(already_read)), false,
                       nullptr, std::move(admission));
    }
    // A user connection from `source` to tcp proxy `proxy` (conn_limits).
    conn_limits::ticket admit(const boost::asio::ip::address& source, const std::string& proxy,
                              std::string& why);
    // Ends the session (another login took its place, server shutdown...).
    void kick(std::string reason);
    // A reload published new settings (server/reload.hpp): a run whose
    // client's token changed ends (returns true); paused proxies try again
    // under the new limit. Any thread.
    bool reloaded();
    // The server stops: its proxies stop accepting, connections open go on.
    void stop_accepting();
    // Ends an away run for good, then runs `done` once its ports are free.
    void retire(std::string reason, std::function<void()> done);
    // The client came back on a new Control stream (`r`, whose login named
    // this run): the run goes on there.
    void resume_run(control_reactor* r, std::string peer, std::size_t pool_count);
    // The run lost its Control stream and waits for the client (relaxed).
    bool away() const noexcept { return away_flag_.load(std::memory_order_relaxed); }
    // The client's id, as logged in (set once at login, before the run is
    // published: safe to read for whoever found the session by its run).
    const std::string& client_id() const { return client_id_; }
    // The server's number for this session (and its run): keys listings.
    std::uint64_t number() const { return number_; }
    // Sends `msg` on the Control stream, from any thread (dropped while the
    // run is away or over: punch signalling is retried by the clients).
    void post_message(v1::ServerMessage msg);

private:
    void read_next();
    void handle(v1::ClientMessage& msg);
    void handle_login(const v1::Login& login);
    void refuse_login(const std::string& why);
    bool take_over_previous(const v1::Login& login);
    void continue_run(control_reactor* r, const std::string& peer, std::size_t pool_count);
    void complete_login();
    void stream_lost(const std::string& reason, bool graceful);
    void finish_stream(bool graceful);
    void end_sessions();
    void handle_register(const v1::ProxySpec& spec);
    std::string register_tcp(const v1::ProxySpec& spec, v1::ProxyResult& result);
    std::string register_vhost(const v1::ProxySpec& spec, v1::ProxyResult& result);
    std::string register_secret(const v1::ProxySpec& spec, v1::ProxyResult& result);
    // Takes a proxy without a listener of its own off the vhost or secret table.
    void remove_listenerless(const std::string& name, bool for_good);
    void handle_close_proxy(const std::string& name);
    void direct_report(const v1::DirectReport& report);
    void send(v1::ServerMessage msg);
    void tick();
    void shutdown(const std::string& reason, bool graceful);
    void finish_rpc();
    std::string who() const;

    server_state& st_;
    boost::asio::strand<boost::asio::io_context::executor_type> strand_;
    control_reactor* reactor_;  // valid until finish_rpc()
    std::string peer_;          // of the current Control stream
    const std::uint64_t number_;

    // The Control stream's messages: the one being read, and the write queue
    // (the generated code stays out of this header).
    struct messages;
    std::shared_ptr<messages> msgs_;  // shared: a stream left behind may still use its own
    bool finish_pending_ = false;
    bool finished_ = false;

    enum class phase { login, active, away, closed } phase_ = phase::login;
    std::atomic<bool> away_flag_{false};
    std::chrono::steady_clock::time_point away_since_{};
    std::size_t retiring_ = 0;  // away runs of this client still ending before our login completes
    std::string run_id_;
    std::string client_id_;
    // Stands for the token it logged in with (auth::verifier::credential);
    // set with client_id_.
    std::string credential_;
    std::string client_version_;
    std::chrono::steady_clock::time_point started_, last_seen_;
    boost::asio::steady_timer tick_timer_;

    // http/https and secret proxies have no listener of their own: nullptr
    // (see vhost_table, secret_table).
    std::map<std::string, std::shared_ptr<tcp_proxy>> proxies_;
    std::set<std::string> secrets_;  // the names of the secret ones
    work_pool pool_;
    // Connections accepted and not yet paired; read by the proxies' strands.
    std::atomic<std::uint32_t> waiting_{0};
    void paired_one();
};

}  // namespace burrow
