// Candidates: the addresses where a peer may be reached for a direct path,
// as the Control stream carries them ("198.51.100.2:40000", "[2001:db8::1]:40000").
// Pure code: no I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/udp.hpp>

namespace burrow::p2p {

using udp_endpoint = boost::asio::ip::udp::endpoint;

// At most this many are sent or taken from a peer.
constexpr std::size_t max_candidates = 8;

std::string format(const udp_endpoint& ep);
// nullopt for anything but an IP address and a port 1-65535 (no names: a
// peer's candidate never makes us resolve anything).
std::optional<udp_endpoint> parse(std::string_view text);

// Ours, best first: the mapped address the rendezvous saw (it works across
// NATs), then the socket's port on each local address (they work on a shared
// LAN), without duplicates, loopback, link-local or unspecified addresses, or
// a family the mapped address does not have; at most max_candidates.
std::vector<udp_endpoint> order(const std::optional<udp_endpoint>& mapped,
                                const std::vector<boost::asio::ip::address>& locals,
                                unsigned short port);

// A peer's, as received: the parseable ones, in its order, without duplicates
// and addresses we could not send to (unspecified, multicast, loopback unless
// `allow_loopback`), at most max_candidates.
std::vector<udp_endpoint> accept(const std::vector<std::string>& texts, bool allow_loopback);

}  // namespace burrow::p2p
