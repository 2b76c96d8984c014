// The server name of a TLS ClientHello, which routes an https proxy's
// connection. Pure code: unit tests feed it bytes as a network delivers them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace burrow::vhost {

// The outcome of looking at the start of a TLS connection for its server name.
enum class sni_result { found, need_more, none, malformed };
// Parses the TLS record(s) holding a ClientHello in `data` and stores its
// server_name (host_name type) in `name`. need_more: the ClientHello is not
// complete yet; none: a valid ClientHello without SNI.
sni_result parse_client_hello_sni(std::string_view data, std::string& name);
// The largest ClientHello we wait for (the first handshake message).
inline constexpr std::size_t max_client_hello = 16 * 1024;

}  // namespace burrow::vhost
