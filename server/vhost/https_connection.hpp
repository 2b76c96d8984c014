// An https proxy's user connection: read until the ClientHello names a
// server, then handed to the proxy's client like a tcp proxy's connection.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include "server/conn_limits.hpp"

namespace burrow {
struct server_state;
}

namespace burrow::vhost {

// Serves one accepted user connection until it is handed on or refused.
void serve_https(server_state& st, boost::asio::ip::tcp::socket socket,
                 conn_limits::ticket admission);

}  // namespace burrow::vhost
