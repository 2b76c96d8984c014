// The NAT lab: kernel NATs (nftables) between hosts and a server, in network
// namespaces of this test process (root; ../shared/NATLAB.md).
//
//   [srv] eth0 ---- srv [net] site0 ---- wan [r-<site>] lan ---- eth0 [h-<site>]
//                         site1 ---- wan [r-<site2>] ...          eth1 (second link)
//
//   srv:    203.0.113.10 and .11 on 203.0.113.0/26, net .1; net routes (ip_forward=1)
//   site i (in add_site order): WAN 203.0.113.(64+16i)/28, net .1, router .2;
//           LAN 198.51.100.(32i)/27, router .1, host .2
//   a host's second link k: 192.0.2.(32k)/27, router .1, host .2
//
// Only documentation ranges, never routed out of the namespaces: nothing is
// connected to the machine's own namespace. Names given to in/exec_in/
// on_thread_in (inherited from netns_set) are the short ones below; ns(name)
// is the system's name.
#pragma once

#include <map>
#include <string>

#include "tests/e2e/netns.hpp"

namespace burrow::natlab {

// The recipes of NATLAB.md's table, named by the behaviour they give.
enum class nat_kind {
    none,             // no NAT: the host's address is public (still a stateful firewall)
    port_restricted,  // masquerade: endpoint-independent mapping, address+port filtering
    symmetric,        // masquerade random: a new port per destination
    full_cone,        // masquerade + DNAT of all inbound UDP to the host
    restricted_cone,  // masquerade + DNAT of inbound UDP from addresses the host contacted
};
const char* to_string(nat_kind kind);

class lab : public e2e::netns_set {
public:
    static constexpr int max_sites = 8;
    // How long restricted_cone remembers a contacted address (RFC 4787's 2 min).
    static constexpr int restricted_cone_memory_s = 120;

    // The internet and the server; sites come with add_site.
    lab();

    // A NAT router r-<site> on the internet and a host h-<site> behind it,
    // its default route via the router. `site`: 1-8 of [a-z0-9].
    bool add_site(const std::string& site, nat_kind kind);
    // A second link from h-<host_site> (eth1) to the LAN side of r-<via_site>
    // (l-<host_site>), not its default route: moving the default route there
    // simulates Wi-Fi -> 4G. One per host. Inbound DNAT of a cone router
    // still goes to its own site's host, not to a host on a second link.
    bool add_second_link(const std::string& host_site, const std::string& via_site);

    // Every step so far succeeded; errors() says what failed.
    bool ready() const { return ready_; }

    static std::string internet_ns() { return "net"; }
    static std::string server_ns() { return "srv"; }
    static std::string router_ns(const std::string& site) { return "r-" + site; }
    static std::string host_ns(const std::string& site) { return "h-" + site; }

    static std::string server_addr() { return "203.0.113.10"; }
    // A second address of the server namespace (RFC 5780 tests; a sender
    // that a host behind a NAT never contacted).
    static std::string server_alt_addr() { return "203.0.113.11"; }
    // Throw std::out_of_range for a site that was never added (or has no second link).
    std::string host_addr(const std::string& site) const;
    std::string wan_addr(const std::string& site) const;
    std::string second_link_addr(const std::string& host_site) const;     // host side
    std::string second_link_gateway(const std::string& host_site) const;  // router side
    nat_kind kind(const std::string& site) const { return sites_.at(site).kind; }

    // Conntrack UDP timeouts (nf_conntrack_udp_timeout and ..._stream) of a
    // site's router, to prove keepalives in less than minutes.
    bool set_udp_timeouts(const std::string& site, int seconds);
    // Forgets every mapping of a site's router (conntrack -F).
    bool flush_conntrack(const std::string& site);

    // The nftables ruleset (table ip natlab) of a router of `kind` with its
    // host at `host`, WAN interface "wan".
    static std::string ruleset(nat_kind kind, const std::string& host);

private:
    struct site_info {
        int index;
        nat_kind kind;
        int second_link = -1;  // index of its second link's subnet, -1 without one
    };
    int second_link(const std::string& host_site) const;  // its index, or throws
    static std::string wan_net(int index, int host);       // 203.0.113.(64+16i+host)
    static std::string lan_net(int index, int host);       // 198.51.100.(32i+host)
    static std::string second_net(int index, int host);    // 192.0.2.(32i+host)

    std::map<std::string, site_info> sites_;
    int second_links_ = 0;
    bool ready_ = false;
};

}  // namespace burrow::natlab
