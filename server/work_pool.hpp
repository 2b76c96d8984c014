// work_pool: one client session's idle Work streams, and the user
// connections waiting for one. A connection is paired with the stream the
// client opened first; with none idle, it waits (up to work_timeout). The
// server asks for every stream beyond the client's first pool_count
// (NewWork): one for each stream taken into use, and one for each
// connection waiting, minus those asked for and still on their way. So a
// burst of connections gets as many streams as it needs and no more. After
// a burst, streams beyond pool_count (the client's own replacements of lost
// ones can add some) are closed again.
//
// Not thread-safe: the session uses it on its strand.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/generic/stream_protocol.hpp>
#include "server/conn_limits.hpp"

namespace burrow {

namespace stream {
class pump;
class registry;
}
namespace live {
class session;
}

class work_pool {
public:
    using clock = std::chrono::steady_clock;
    // Starts the connection's local end on a paired stream's pump (tagged
    // "[proxy/conn]" for its log lines); false when the pump turned out to
    // have ended, and the next stream is tried. Called with nullptr when no
    // stream comes: the connection is dropped. (Called more than once, so a
    // std::function: what it holds that cannot be copied sits in a shared_ptr.)
    using local_end = std::function<bool(std::shared_ptr<stream::pump>, const std::string& tag)>;
    using stream_socket = boost::asio::generic::stream_protocol::socket;

    struct request {
        std::string proxy;
        std::uint64_t conn_id = 0;
        std::string peer;
        local_end end;
        bool quiet = false;  // an http upstream: logged at debug level
        bool resumable = true;  // not a visit (the server only splices those)
        // A visit's: the secret the serving client presents to re-attach its
        // end (the splice keeps it; this stream's pump is handed over).
        std::string splice_secret;
        // Its line in the dashboard's listing (live.hpp), kept until the session ends.
        std::shared_ptr<live::session> listing;
        clock::time_point since{};
        // A visit that continues a direct session: a serialized DirectResume.
        std::string resume_direct;
        std::string move_secret;  // a visit's (WorkStart.move_secret)
        // Counts the user's connection as open (conn_limits) until it ends.
        conn_limits::ticket admission;
    };

    // `ask` asks the client for `count` more streams (NewWork); `settled` is
    // told each time a request is paired or dropped; a paired connection's
    // session goes into `sessions` under its conn id.
    work_pool(std::function<void(std::uint32_t count)> ask, std::function<void()> settled,
              stream::registry& sessions);
    ~work_pool();

    // A local end for a socket; `already_read` goes to the service first.
    static local_end socket_end(stream_socket socket, std::string already_read = {});

    // A new user connection.
    void add(request r);
    // A stream that presented the session's run id; `asked`: it answers an
    // ask (or its client does not say). false: there are too many idle
    // ones, and it was closed.
    bool offer(std::shared_ptr<stream::pump> work, bool asked);
    // Drops requests that waited beyond `work_timeout`, closes the surplus
    // of idle streams; `who` names the client in log lines.
    void tick(clock::time_point now, std::chrono::seconds work_timeout, const std::string& who);
    void set_target(std::size_t pool_count) { target_ = pool_count; }
    std::size_t target() const { return target_; }
    std::size_t idle() const { return idle_.size(); }
    // Sessions paired from now on are resumable for `keep` (0: not), by the
    // run `owner` only (pump::set_resumable).
    void set_resume(const void* owner, std::chrono::seconds keep) {
        owner_ = owner;
        keep_ = keep;
    }
    // The client's connection broke: its idle streams went with it, and
    // nothing asked for is awaited until it is back.
    void close_idle(const std::string& reason);
    // The client is back: streams asked for on the lost connection will not
    // come, so the waiting connections ask again.
    void resumed();
    // The session ended: streams are closed, requests dropped.
    void close_all(const std::string& reason);

private:
    void pair(request r);
    void refill();
    void ask(std::uint32_t count);
    void drop(request& r);
    void drop_ended();  // idle streams that ended meanwhile
    void trim(clock::time_point now, const std::string& who);

    std::function<void(std::uint32_t)> ask_;
    std::function<void()> settled_;
    stream::registry& sessions_;
    bool closed_ = false;
    bool away_ = false;  // between close_idle() and resumed()
    std::deque<std::shared_ptr<stream::pump>> idle_;
    std::deque<request> waiting_;
    std::uint32_t requested_ = 0;  // NewWork asked for and not yet arrived
    clock::time_point last_progress_{};  // a stream arrived or was asked for
    std::size_t target_ = 1;       // the client's pool_count
    const void* owner_ = nullptr;
    std::chrono::seconds keep_{0};
    clock::time_point surplus_since_{};  // idle_ above target since
};

}  // namespace burrow
