// One logged-in (or logging-in) client on the server: its Control stream,
// its proxies, its idle Work streams and the user connections waiting for one.
// All state lives on the session's strand; public methods post to it.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <variant>

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "burrow.pb.h"
#include "common/unique_function.hpp"

namespace grpc {
class Status;
}

namespace burrow {

struct server_state;
class tcp_proxy;
class work_bridge;
class control_reactor;

class client_session : public std::enable_shared_from_this<client_session> {
public:
    client_session(server_state& st, control_reactor* reactor, std::string peer);
    ~client_session();

    void start();

    // ---- reactions of the Control stream (gRPC threads) ----
    void on_read_done(bool ok);
    void on_write_done(bool ok);
    void on_cancel();

    // A Work stream that presented this session's run id.
    void offer_work(std::shared_ptr<work_bridge> work);
    using stream_socket = boost::asio::generic::stream_protocol::socket;
    // A user connection for one of this session's proxies (an accepted TCP
    // connection, or an https one after its ClientHello); `peer` is the user's
    // address; `already_read` goes to the service before what the socket
    // brings. Returns false when the proxy should pause accepting until resume().
    bool dispatch(std::string proxy, stream_socket socket, std::string peer,
                  std::string already_read = {});
    // The same for an in-process end (the HTTP vhost's upstream connections):
    // `on_ready` gets the bridge, started with start_local(), or nullptr when
    // no Work stream comes within work_timeout or the session ends. Called on
    // the session's strand.
    using local_handler = unique_function<void(std::shared_ptr<work_bridge>)>;
    void dispatch_local(std::string proxy, std::string peer, local_handler on_ready);
    // Ends the session (another login took its place, server shutdown...).
    void kick(std::string reason);

private:
    struct pending_conn {
        std::string proxy;
        std::uint64_t conn_id;
        std::string peer;
        std::variant<stream_socket, local_handler> local;
        std::chrono::steady_clock::time_point since;
        std::string already_read;
        bool quiet = false;  // an http upstream: logged at debug level
    };

    void read_next();
    void handle(v1::ClientMessage& msg);
    void handle_login(const v1::Login& login);
    void handle_register(const v1::ProxySpec& spec);
    std::string register_tcp(const v1::ProxySpec& spec, v1::ProxyResult& result);
    std::string register_vhost(const v1::ProxySpec& spec, v1::ProxyResult& result);
    void handle_close_proxy(const std::string& name);
    void send(v1::ServerMessage msg);
    void write_next();
    void tick();
    void trim_idle_work(std::chrono::steady_clock::time_point now);
    void queue(std::string proxy, std::string peer,
               std::variant<stream_socket, local_handler> local, std::string already_read);
    void pair(pending_conn conn);
    void drop(pending_conn& conn);
    void shutdown(const std::string& reason, bool graceful);
    void finish_rpc();
    std::string who() const;

    server_state& st_;
    boost::asio::strand<boost::asio::io_context::executor_type> strand_;
    control_reactor* reactor_;  // valid until finish_rpc()
    const std::string peer_;
    const std::uint64_t number_;

    v1::ClientMessage in_;
    v1::ServerMessage out_;
    std::deque<v1::ServerMessage> queue_;
    bool writing_ = false;
    bool finish_pending_ = false;
    bool finished_ = false;

    enum class phase { login, active, closed } phase_ = phase::login;
    std::string run_id_;
    std::string client_id_;
    std::chrono::steady_clock::time_point started_, last_seen_;
    boost::asio::steady_timer tick_timer_;

    // http/https proxies have no listener of their own: nullptr (see vhost_table).
    std::map<std::string, std::shared_ptr<tcp_proxy>> proxies_;
    std::set<std::string> http_proxies_;  // their connections are the vhost's upstreams
    std::deque<std::shared_ptr<work_bridge>> idle_;
    std::deque<pending_conn> pending_;
    std::uint32_t work_requested_ = 0;  // NewWork asked for and not yet arrived
    std::size_t pool_target_ = 1;       // the client's pool_count
    std::chrono::steady_clock::time_point surplus_since_{};  // idle_ above target since
    // Connections accepted and not yet paired; read by the proxies' strands.
    std::atomic<std::uint32_t> waiting_{0};
    void paired_one();
};

}  // namespace burrow
