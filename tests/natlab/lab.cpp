#include "tests/natlab/lab.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace burrow::natlab {

namespace {

bool valid_site_name(const std::string& site) {
    return !site.empty() && site.size() <= 8 && std::all_of(site.begin(), site.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return std::islower(u) || std::isdigit(u);
    });
}

}  // namespace

const char* to_string(nat_kind kind) {
    switch (kind) {
    case nat_kind::none: return "none";
    case nat_kind::port_restricted: return "port_restricted";
    case nat_kind::symmetric: return "symmetric";
    case nat_kind::full_cone: return "full_cone";
    case nat_kind::restricted_cone: return "restricted_cone";
    }
    return "?";
}

std::string lab::wan_net(int index, int host) {
    return "203.0.113." + std::to_string(64 + 16 * index + host);
}
std::string lab::lan_net(int index, int host) {
    return "198.51.100." + std::to_string(32 * index + host);
}
std::string lab::second_net(int index, int host) {
    return "192.0.2." + std::to_string(32 * index + host);
}

std::string lab::host_addr(const std::string& site) const {
    return lan_net(sites_.at(site).index, 2);
}
std::string lab::wan_addr(const std::string& site) const {
    return wan_net(sites_.at(site).index, 2);
}
int lab::second_link(const std::string& host_site) const {
    const int k = sites_.at(host_site).second_link;
    if (k < 0) throw std::out_of_range("natlab: " + host_site + " has no second link");
    return k;
}
std::string lab::second_link_addr(const std::string& host_site) const {
    return second_net(second_link(host_site), 2);
}
std::string lab::second_link_gateway(const std::string& host_site) const {
    return second_net(second_link(host_site), 1);
}

lab::lab() {
    const auto net = internet_ns(), srv = server_ns();
    ready_ = add(net) && add(srv) &&
             cmd({ip, "link", "add", "eth0", "netns", ns(srv), "type", "veth", "peer", "name",
                  "srv", "netns", ns(net)}) &&
             in(net, "sysctl -qw net.ipv4.ip_forward=1 && ip addr add 203.0.113.1/26 dev srv && "
                     "ip link set srv up") &&
             in(srv, "ip addr add " + server_addr() + "/26 dev eth0 && ip addr add " +
                         server_alt_addr() + "/26 dev eth0 && ip link set eth0 up && "
                         "ip route add default via 203.0.113.1");
}

bool lab::add_site(const std::string& site, nat_kind kind) {
    if (!valid_site_name(site) || sites_.count(site) != 0 ||
        sites_.size() >= static_cast<std::size_t>(max_sites)) {
        ready_ = false;
        return fail("add_site: bad, duplicate or one too many site name \"" + site + "\"");
    }
    const int i = static_cast<int>(sites_.size());
    sites_[site] = site_info{i, kind, -1};
    const auto net = internet_ns(), r = router_ns(site), h = host_ns(site);
    const auto uplink = "site" + std::to_string(i);  // its WAN's peer in the internet
    // A public LAN (no NAT) is routed by the internet.
    const auto lan_route = kind == nat_kind::none
                               ? " && ip route add " + lan_net(i, 0) + "/27 via " + wan_net(i, 2)
                               : std::string();
    const bool ok =
        add(r) && add(h) &&
        cmd({ip, "link", "add", "wan", "netns", ns(r), "type", "veth", "peer", "name", uplink,
             "netns", ns(net)}) &&
        cmd({ip, "link", "add", "eth0", "netns", ns(h), "type", "veth", "peer", "name", "lan",
             "netns", ns(r)}) &&
        in(net, "ip addr add " + wan_net(i, 1) + "/28 dev " + uplink + " && ip link set " + uplink +
                    " up" + lan_route) &&
        in(r, "sysctl -qw net.ipv4.ip_forward=1 && nft -f - <<'EOF'\n" +
                  ruleset(kind, lan_net(i, 2)) + "EOF\n") &&
        in(r, "ip addr add " + wan_net(i, 2) + "/28 dev wan && ip addr add " + lan_net(i, 1) +
                  "/27 dev lan && ip link set wan up && ip link set lan up && "
                  "ip route add default via " + wan_net(i, 1)) &&
        in(h, "ip addr add " + lan_net(i, 2) + "/27 dev eth0 && ip link set eth0 up && "
                  "ip route add default via " + lan_net(i, 1));
    ready_ = ready_ && ok;
    return ok;
}

bool lab::add_second_link(const std::string& host_site, const std::string& via_site) {
    auto& host = sites_.at(host_site);
    const auto& via = sites_.at(via_site);
    if (host.second_link >= 0 || second_links_ >= max_sites) {
        ready_ = false;
        return fail("add_second_link: " + host_site + " has one already, or too many links");
    }
    const int k = second_links_++;
    host.second_link = k;
    const auto r = router_ns(via_site), dev = "l-" + host_site;
    const bool ok =
        cmd({ip, "link", "add", "eth1", "netns", ns(host_ns(host_site)), "type", "veth", "peer",
             "name", dev, "netns", ns(r)}) &&
        in(r, "ip addr add " + second_net(k, 1) + "/27 dev " + dev + " && ip link set " + dev +
                  " up") &&
        in(host_ns(host_site), "ip addr add " + second_net(k, 2) + "/27 dev eth1 && "
                               "ip link set eth1 up") &&
        (via.kind != nat_kind::none || in(internet_ns(), "ip route add " + second_net(k, 0) +
                                                             "/27 via " + wan_net(via.index, 2)));
    ready_ = ready_ && ok;
    return ok;
}

bool lab::set_udp_timeouts(const std::string& site, int seconds) {
    const auto s = std::to_string(seconds);
    return in(router_ns(site), "sysctl -qw net.netfilter.nf_conntrack_udp_timeout=" + s +
                                   " net.netfilter.nf_conntrack_udp_timeout_stream=" + s);
}

bool lab::flush_conntrack(const std::string& site) {
    return in(router_ns(site), "conntrack -F 2>/dev/null");
}

// NATLAB.md's recipes. Every router drops new connections arriving on the
// WAN in both input (probes addressed to the router itself, whose conntrack
// entry must never be confirmed) and forward; the cone recipes first let
// their DNAT'd packets through, or the full cone behaves as port-restricted.
std::string lab::ruleset(nat_kind kind, const std::string& host) {
    const bool cone = kind == nat_kind::full_cone || kind == nat_kind::restricted_cone;
    std::string r = "table ip natlab {\n";
    if (kind == nat_kind::restricted_cone)
        r += "  set peers {\n"
             "    type ipv4_addr; flags timeout; timeout " +
             std::to_string(restricted_cone_memory_s) + "s;\n  }\n";
    r += "  chain input {\n"
         "    type filter hook input priority filter; policy accept;\n"
         "    iifname \"wan\" ct state new drop\n"
         "  }\n"
         "  chain forward {\n"
         "    type filter hook forward priority filter; policy accept;\n";
    if (kind == nat_kind::restricted_cone)
        r += "    oifname \"wan\" meta l4proto udp update @peers { ip daddr }\n";
    if (cone) r += "    iifname \"wan\" ct status dnat accept\n";
    r += "    iifname \"wan\" ct state new drop\n"
         "  }\n";
    if (kind == nat_kind::none) return r + "}\n";
    if (cone)
        r += "  chain prerouting {\n"
             "    type nat hook prerouting priority dstnat; policy accept;\n"
             "    iifname \"wan\" meta l4proto udp " +
             std::string(kind == nat_kind::restricted_cone ? "ip saddr @peers " : "") +
             "dnat to " + host + "\n  }\n";
    r += "  chain postrouting {\n"
         "    type nat hook postrouting priority srcnat; policy accept;\n"
         "    oifname \"wan\" masquerade" +
         std::string(kind == nat_kind::symmetric ? " random" : "") + "\n  }\n";
    return r + "}\n";
}

}  // namespace burrow::natlab
