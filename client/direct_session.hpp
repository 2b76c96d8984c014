// Sessions on a direct path (DESIGN.md §6): one QUIC stream each
// (quic_link.hpp), with the same pump and the same frames as on the relay.
//
//   visitor                                   home
//   -------                                   ----
//   DirectHello{proxy, proof}  ------------>  proof == this link's? proxy
//                                             is the one punched for?
//                              <------------  Visited{tag, client, id}
//   pump on the user's socket                 pump on the local service's
//                                             socket (dial_local)
//
// A stream whose head fails either check gets an error frame and nothing
// else. Ids of direct sessions have the top bit set: they never meet the
// server's ids in a client's session registry.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

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

// What the home side needs to serve direct streams.
struct direct_home {
    boost::asio::any_io_executor ex;
    std::shared_ptr<const client_config> config;
    stream::registry* sessions = nullptr;  // lists them (outlives every session)
};

// Home: serves the stream `c` that client `visitor` opened on `on`, the
// direct path punched for our secret proxy `proxy`.
void serve_direct_stream(const direct_home& home, stream::carrier* c, const std::string& proxy,
                         const std::string& visitor, const quic::link& on);

// Visitor: the head frame that opens a session of `v` on `on`.
std::string direct_hello(const visitor_config& v, const quic::link& on);

}  // namespace burrow
