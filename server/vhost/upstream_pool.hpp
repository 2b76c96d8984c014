// Idle upstream connections, per proxy and client session, shared by all user
// connections: a user who sends `Connection: close` (or goes away) leaves
// the connection to the service open for the next one, as a reverse proxy's
// upstream keep-alive does. Taken most recent first; stale ones are closed.
//
// This file and its .cpp are the only places that know an upstream is a
// stream::pump of a client session; http_connection sees a stream::local_stream.
#pragma once

#include <compare>
#include <memory>
#include <string>

#include <absl/base/thread_annotations.h>
#include <absl/synchronization/mutex.h>
#include <boost/asio/awaitable.hpp>

#include "server/vhost/idle_list.hpp"

namespace burrow {
class client_session;
namespace stream {
class pump;
}
}  // namespace burrow

namespace burrow::vhost {

class upstream_pool {
public:
    upstream_pool();

    struct key {
        std::string proxy;
        const void* owner;  // the client_session
        auto operator<=>(const key&) const = default;
    };

    // An upstream for `k`: the most recent fit idle one, else a new Work
    // stream that `owner` asks its client for (on behalf of `peer`, for its
    // logs). nullptr when none can be had. Completes on the caller's executor.
    boost::asio::awaitable<std::shared_ptr<stream::pump>> obtain(const key& k,
                                                                client_session& owner,
                                                                const std::string& peer);
    // Keeps an upstream whose last exchange ended cleanly; when the pool is
    // full, the oldest goes.
    void put(const key& k, std::shared_ptr<stream::pump> bridge);
    // Closes what went stale everywhere; the listener calls it now and then,
    // so upstreams of a proxy nobody visits any more do not linger.
    void sweep();

private:
    std::shared_ptr<stream::pump> take(const key& k);

    absl::Mutex mutex_;
    idle_list<key, std::shared_ptr<stream::pump>> idle_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace burrow::vhost
