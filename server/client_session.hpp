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

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "common/unique_function.hpp"
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

    // ---- reactions of the Control stream (gRPC threads) ----
    void on_read_done(bool ok);
    void on_write_done(bool ok);
    void on_cancel();

    // A Work stream that presented this session's run id.
    void offer_work(std::shared_ptr<stream::pump> work);
    using stream_socket = boost::asio::generic::stream_protocol::socket;
    // A user connection for one of this session's proxies, from `peer` (the
    // user's address): `end` is started on a Work stream once one is paired
    // (work_pool::local_end), on the session's strand. `quiet`: logged at
    // debug level (the HTTP vhost's upstreams). Returns false when the proxy
    // should pause accepting until resume().
    bool connect(std::string proxy, std::string peer, work_pool::local_end end,
                 bool quiet = false);
    // An accepted TCP connection (or an https one after its ClientHello,
    // which is `already_read`).
    bool dispatch(std::string proxy, stream_socket socket, std::string peer,
                  std::string already_read = {}) {
        return connect(std::move(proxy), std::move(peer),
                       work_pool::socket_end(std::move(socket), std::move(already_read)));
    }
    // Ends the session (another login took its place, server shutdown...).
    void kick(std::string reason);
    // The client's id, as logged in (set once at login, before the run is
    // published: safe to read for whoever found the session by its run).
    const std::string& client_id() const { return client_id_; }

private:
    void read_next();
    void handle(v1::ClientMessage& msg);
    void handle_login(const v1::Login& login);
    void handle_register(const v1::ProxySpec& spec);
    std::string register_tcp(const v1::ProxySpec& spec, v1::ProxyResult& result);
    std::string register_vhost(const v1::ProxySpec& spec, v1::ProxyResult& result);
    std::string register_secret(const v1::ProxySpec& spec, v1::ProxyResult& result);
    // Takes a proxy without a listener of its own off the vhost or secret table.
    void remove_listenerless(const std::string& name, bool for_good);
    void handle_close_proxy(const std::string& name);
    void send(v1::ServerMessage msg);
    void tick();
    void shutdown(const std::string& reason, bool graceful);
    void finish_rpc();
    std::string who() const;

    server_state& st_;
    boost::asio::strand<boost::asio::io_context::executor_type> strand_;
    control_reactor* reactor_;  // valid until finish_rpc()
    const std::string peer_;
    const std::uint64_t number_;

    // The Control stream's messages: the one being read, and the write queue
    // (the generated code stays out of this header).
    struct messages;
    std::unique_ptr<messages> msgs_;
    bool finish_pending_ = false;
    bool finished_ = false;

    enum class phase { login, active, closed } phase_ = phase::login;
    std::string run_id_;
    std::string client_id_;
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
