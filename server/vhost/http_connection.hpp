// An http proxy's user connection: each request routed by Host and path and
// relayed to its proxy's service, one exchange at a time.
#pragma once

#include <memory>

#include <boost/asio/ip/tcp.hpp>

#include "server/conn_limits.hpp"

namespace burrow {
struct server_state;
}

namespace burrow::vhost {

class upstream_pool;

// Serves one accepted user connection until it ends. The socket's executor
// may be any; each connection gets its own strand. `pool` keeps idle
// connections to the services for the next user.
void serve_http(server_state& st, boost::asio::ip::tcp::socket socket,
                std::shared_ptr<upstream_pool> pool, conn_limits::ticket admission);

}  // namespace burrow::vhost
