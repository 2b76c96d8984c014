// Sessions on a direct path (DESIGN.md §6): one QUIC stream each
// (quic_link.hpp), with the same pump and the same frames as on the relay.
//
//   visitor                                   home
//   -------                                   ----
//   DirectHello{proxy, proof, secret} ----->  proof == this link's? proxy
//                                             is the one punched for?
//                              <------------  Visited{tag, client, id}
//   pump on the user's socket                 pump on the local service's
//                                             socket (dial_local)
//
// When the path dies, both pumps detach and keep their sessions for
// `direct_resume_keep`; once a new path is up, the visitor re-attaches each
// one on a new stream (DirectHello{resume_id, secret, received} ->
// Resumed{received}) and both replay what the other lacks: no byte lost.
// A stream whose head fails a check gets an error frame and nothing else.
// Ids of direct sessions have the top bit set: they never meet the server's
// ids in a client's session registry.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/stream/pump.hpp"

namespace burrow {

struct client_config;
struct visitor_config;
namespace quic {
class link;
}
namespace stream {
class carrier;
class registry;
}  // namespace stream

inline constexpr std::uint64_t direct_session_bit = std::uint64_t{1} << 63;
// How long a session whose direct path died waits for a new one.
inline constexpr std::chrono::seconds direct_resume_keep{30};

// What the home side needs to serve direct streams.
struct direct_home {
    boost::asio::any_io_executor ex;
    std::shared_ptr<const client_config> config;
    stream::registry* sessions = nullptr;  // lists them (outlives every session)
};

// Home: the sessions of our secret proxies that run on direct paths (new
// ones, and relayed visits moved onto a path), for the server's dashboard
// (DirectReport). Thread-safe.
struct direct_row {
    std::uint64_t id = 0;
    std::string proxy, peer;
    double age_seconds = 0;
    std::uint64_t bytes_in = 0, bytes_out = 0;  // to the service, to the visitor
    bool moved = false;                          // it began as a relayed visit
    bool ended = false;                          // over: its final counts, listed once
};
std::vector<direct_row> home_direct_sessions(std::size_t at_most);
// Home: resets direct session `id` (the server's dashboard asked); false
// when there is none.
bool close_home_direct(std::uint64_t id, const std::string& why);

// Home: serves the stream `c` that client `visitor` opened on `on`, the
// direct path punched for our secret proxy `proxy`: a new session, or the
// re-attach of one whose path died.
void serve_direct_stream(const direct_home& home, stream::carrier* c, const std::string& proxy,
                         const std::string& visitor, const quic::link& on);

// Home: the Work stream `work` (its start read) continues direct session
// `direct_id` over the relay: the visitor presents `secret` and holds
// `theirs` of our stream. The session is re-attached there (answering
// Resumed), listed as `conn_id`, and handed to `relay_resumable` to be
// re-attached like any relayed session from now on.
void continue_over_relay(
    const std::shared_ptr<stream::pump>& work, stream::registry& sessions, std::uint64_t direct_id,
    const std::string& secret, stream::resume_point theirs, std::uint64_t conn_id,
    std::function<void(const std::shared_ptr<stream::pump>&, std::uint64_t conn_id)> relay_resumable);

// Home: relayed visit `conn_id` (of a secret proxy with p2p = true) may be
// taken over by a direct stream presenting `move_secret` (the server gave it
// to both ends): the visitor moves it onto its direct path once that is up.
void allow_move(const std::shared_ptr<stream::pump>& p, std::uint64_t conn_id,
                const std::string& move_secret);

// Visitor: the head frame that opens a session of `v` on `on`, whose
// re-attach will present `secret`.
std::string direct_hello(const visitor_config& v, const quic::link& on, const std::string& secret);

// Visitor: keeps direct sessions, and re-attaches those whose path died on
// the visitor's next direct path (polled while any waits). Thread-safe.
class direct_resumer : public std::enable_shared_from_this<direct_resumer>,
                       public stream::resume_listener {
public:
    using link_finder = std::function<std::shared_ptr<quic::link>(const std::string& visitor)>;
    // Continues session `id` of `visitor` over the relay; `done(settled)`
    // once that attempt is over (not settled: try again later).
    using relay_path = std::function<void(std::uint64_t id, const std::shared_ptr<stream::pump>&,
                                          const std::string& visitor,
                                          std::function<void(bool settled)> done)>;
    // A session with no direct path this long after its path died goes on
    // over the relay.
    static constexpr std::chrono::milliseconds relay_after{2000};
    // Told the relay id of a visit once it runs on the direct path (the
    // server then lets go of its splice: SessionMoved).
    using moved_notice = std::function<void(std::uint64_t relay_id)>;
    direct_resumer(boost::asio::any_io_executor ex, link_finder links, relay_path relay,
                   stream::registry& sessions, moved_notice moved = {});

    // Session `id` of visitor `v` (its server_name is the proxy) started
    // with `secret`: resumable from now on.
    void keep(const std::shared_ptr<stream::pump>& p, std::uint64_t id, const std::string& secret,
              const visitor_config& v);
    // Relayed visit `id` of `v` (the home's id `home_id`) moves onto the
    // visitor's direct path once that is ready, presenting `move_secret`.
    void movable(const std::shared_ptr<stream::pump>& p, std::uint64_t id, std::uint64_t home_id,
                 const std::string& move_secret, const visitor_config& v);
    void detached(std::uint64_t id) override;

private:
    struct waiting {
        std::string visitor, proxy;
        std::uint64_t home_id = 0;  // what the home calls the session
    };
    struct move {
        waiting w;
        std::string secret;
        std::weak_ptr<stream::pump> session;
    };
    void schedule();  // under mutex_
    void move_ready();
    void poll();
    void attempt(std::uint64_t id, const std::shared_ptr<stream::pump>& p,
                 const std::shared_ptr<quic::link>& link, const std::string& proxy);
    void attempt_over(std::uint64_t id, bool settled);
    void on_path(std::uint64_t id);

    boost::asio::any_io_executor ex_;
    link_finder links_;
    relay_path relay_;
    stream::registry& sessions_;
    moved_notice moved_;
    std::mutex mutex_;
    std::map<std::uint64_t, waiting> known_;  // every kept session, by id
    std::map<std::uint64_t, move> movable_;   // relayed visits, until moved
    std::set<std::uint64_t> moving_;          // moved off the relay, not yet on the path
    struct pending {
        bool trying = false;  // an attempt is under way
        std::chrono::steady_clock::time_point since = std::chrono::steady_clock::now();
    };
    std::map<std::uint64_t, pending> detached_;
    boost::asio::steady_timer timer_;
    bool polling_ = false;
};

}  // namespace burrow
