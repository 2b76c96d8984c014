// Internals shared by the vhost listener and its connection handlers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>

namespace burrow {

struct server_state;
class upstream_pool;

// Serve one accepted user connection until it ends. The socket's executor
// may be any; each connection gets its own strand. `pool` keeps idle
// connections to the services for the next user.
void serve_http(server_state& st, boost::asio::ip::tcp::socket socket,
                std::shared_ptr<upstream_pool> pool);
void serve_https(server_state& st, boost::asio::ip::tcp::socket socket);

// The outcome of looking at the start of a TLS connection for its server name.
enum class sni_result { found, need_more, none, malformed };
// Parses the TLS record(s) holding a ClientHello in `data` and stores its
// server_name (host_name type) in `name`. need_more: the ClientHello is not
// complete yet; none: a valid ClientHello without SNI.
sni_result parse_client_hello_sni(std::string_view data, std::string& name);
// The largest ClientHello we wait for (the first handshake message).
inline constexpr std::size_t max_client_hello = 16 * 1024;

}  // namespace burrow
