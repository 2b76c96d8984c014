// Visitors: a local port (or, for `burrow-client connect`, stdin/stdout)
// that reaches a secret proxy of another client through the server. Each
// local connection opens a Visit stream whose first frame proves, with an
// HMAC over a fresh nonce, that this client knows the proxy's secret_key
// (never sent); the server splices it onto a Work stream of the client that
// serves the proxy. A refused visit closes that local connection at once.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/config/client.hpp"
#include "common/stream/pump.hpp"

namespace burrow {

struct tracked_stub;
namespace quic {
class link;
}

// What a visit needs of the running client.
struct visit_context {
    // The stub on the client's channel now.
    std::function<std::shared_ptr<tracked_stub>()> stub;
    std::string client_id;
    // The current run id, "" while not logged in.
    std::function<std::string()> run_id;
    // Keeps a visit's session once it started (listed by status; with a
    // secret, re-attached after a break). May be empty.
    std::function<void(const std::shared_ptr<stream::pump>&, std::uint64_t id,
                       const std::string& secret)>
        keep;
    // A local connection of a visitor with p2p = true arrived: try a direct
    // path (the connection itself goes over the relay). May be empty.
    std::function<void(const visitor_config&)> want_direct;
    // The direct path's QUIC connection for a visitor, when it is ready
    // (new connections go there); nullptr: the relay. May be empty.
    std::function<std::shared_ptr<quic::link>(const visitor_config&)> direct;
    // Keeps a session that started on the direct path (listed; re-attached
    // on the next path when this one dies), with the secret it was opened with.
    std::function<void(const std::shared_ptr<stream::pump>&, std::uint64_t id,
                       const std::string& secret, const visitor_config&)>
        keep_direct;
    // A relayed visit of a visitor with p2p = true that may move onto the
    // direct path: its id here, the home's id, the secret both ends got.
    std::function<void(const std::shared_ptr<stream::pump>&, std::uint64_t id, std::uint64_t home_id,
                       const std::string& move_secret, const visitor_config&)>
        movable;
};

// How a visit ended, for `connect`'s exit code.
enum class visit_end { closed, refused, failed };

// Opens one Visit stream for `socket` (from `peer`, for the logs), tagged
// "[visitor/n]". `on_end`, when given, is told once how it ended.
void open_visit(const visit_context& ctx, boost::asio::any_io_executor ex,
                const visitor_config& v, boost::asio::generic::stream_protocol::socket socket,
                const std::string& tag, const std::string& peer,
                std::function<void(visit_end)> on_end = {});

// Continues `session`, which ran on a direct path as the home's session
// `direct_id`, over the relay (a Visit that re-attaches it, not a new one):
// `done(settled)` once that attempt is over; not settled, try again later.
// From then on it is resumable as any relayed visit (ctx.keep).
void continue_visit_over_relay(const visit_context& ctx, boost::asio::any_io_executor ex,
                               const visitor_config& v, std::shared_ptr<stream::pump> session,
                               std::uint64_t direct_id, std::function<void(bool settled)> done);

// A visitor's listener: accepts on bind_addr:bind_port and opens a visit for
// each connection. Thread-safe start/stop.
class visitor_listener : public std::enable_shared_from_this<visitor_listener> {
public:
    visitor_listener(boost::asio::any_io_executor ex, visit_context ctx, visitor_config v);
    // Binds, or throws std::runtime_error naming the visitor and the address.
    void start();
    // Stops accepting (open visits go on); `then` runs once the port is closed.
    void stop(std::function<void()> then = {});
    const std::string& name() const { return v_.name; }

private:
    void accept();

    boost::asio::any_io_executor ex_;
    visit_context ctx_;
    const visitor_config v_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer retry_;  // after a failed accept (out of descriptors)
    std::atomic<std::uint64_t> count_{0};
};

}  // namespace burrow
