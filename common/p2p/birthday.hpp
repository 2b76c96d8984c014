// Birthday probing: a direct path through a symmetric NAT (DESIGN.md §6).
//
// A symmetric NAT gives each destination a new, unpredictable public port,
// so the port the peer should answer is not known in advance. When only one
// side is behind such a NAT (the "hard" side), both sides spend a bounded
// budget instead:
//   hard side: `sockets` extra local ports, each probing the other side's
//              mapped address: each gets a random public port;
//   easy side: probes `ports` random ports of the hard side's address, which
//              opens its own NAT (endpoint-independent mapping) to each.
// A hard socket whose public port is among the easy side's probed ones gets
// through. Two symmetric NATs would need a match on both ends at once: that
// is left to the relay. Pure code: no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace burrow::p2p::birthday {

// 256 × 2048 of 64512 ports: the odds of a match are 1 - e^-8.1 (99.97 %).
constexpr int sockets = 256;
constexpr int ports = 2048;
// Linux (and most NATs) pick a new mapping's port from 1024-65535.
constexpr std::uint16_t lowest_port = 1024;
constexpr int port_range = 65536 - lowest_port;

enum class role { none, hard, easy };
// Which side we are, from whether our NAT's mapping varies per destination
// (two rendezvous ports saw two ports) and whether the peer's does.
role choose(bool self_varies, bool peer_varies);

// `count` distinct ports of [lowest_port, 65535] in an order drawn from
// `seed` (at most port_range of them).
std::vector<std::uint16_t> ports_to_try(std::size_t count, std::uint64_t seed);

// The chance that at least one of `hard_sockets` uniformly random public
// ports is one of `easy_ports` probed ports.
double odds(int hard_sockets, int easy_ports);

}  // namespace burrow::p2p::birthday
