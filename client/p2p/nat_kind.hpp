// What this network's NAT does to UDP, told from what the server's two
// rendezvous ports saw (RFC 4787 terms), and what that means for a direct
// path. Pure: the observations come from stun_probe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ip/udp.hpp>

namespace burrow {

using udp_endpoint = boost::asio::ip::udp::endpoint;

enum class nat_kind {
    open,             // no NAT, nothing filtered
    cone,             // full or restricted cone (NAT1/NAT2)
    port_restricted,  // port-restricted cone (NAT3), or no NAT behind a port-filtering firewall
    symmetric,        // a new mapping per destination (NAT4)
    blocked,          // no answer from the rendezvous at all
    unknown,          // the first port answered, the second did not
};

enum class nat_mapping { none, endpoint_independent, endpoint_dependent, unknown };

struct nat_observation {
    udp_endpoint local;  // the probing socket, with the source address the route to the server uses
    std::optional<udp_endpoint> mapped;        // seen by the first port
    std::optional<udp_endpoint> mapped_other;  // seen by the second port, from the same socket
    // A fresh socket asked the first port to answer from the second one, and
    // that answer came through.
    bool other_port_answered = false;
};

struct nat_verdict {
    nat_kind kind = nat_kind::unknown;
    nat_mapping mapping = nat_mapping::unknown;
    bool port_filtered = true;  // only answers from the exact address and port get in
};

nat_verdict classify(const nat_observation& seen);

// "port_restricted": for --json and scripts.
std::string_view to_string(nat_kind k);
std::string_view to_string(nat_mapping m);
// "port-restricted cone (NAT3)": for people.
std::string_view describe(nat_kind k);
// What a direct path can do from here, in one sentence.
std::string_view advice(nat_kind k);

}  // namespace burrow
