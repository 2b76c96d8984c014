// What a direct path takes from this host, beside its own socket: the
// interface addresses it offers as LAN candidates, and the process-wide
// budget of birthday probing's extra sockets (common/p2p/birthday.hpp).
#pragma once

#include <vector>

#include <boost/asio/ip/address.hpp>

namespace burrow::p2p {

// The addresses of this host's interfaces that are up.
std::vector<boost::asio::ip::address> local_addresses();

// Extra sockets of all paths at once are capped at min(512, fd limit / 4):
// a home client that many visitors punch at the same moment keeps
// descriptors for its connections. Reserve before opening (returns how
// many may be opened, up to `want`), release what was reserved when they close.
int reserve_extra_sockets(int want);
void release_extra_sockets(int reserved);

}  // namespace burrow::p2p
