#include "common/p2p/candidates.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace burrow::p2p {

namespace {

using boost::asio::ip::address;

bool usable(const address& a, bool allow_loopback) {
    if (a.is_unspecified() || a.is_multicast()) return false;
    if (a.is_loopback()) return allow_loopback;
    if (a.is_v6() && (a.to_v6().is_link_local() || a.to_v6().is_v4_mapped())) return false;
    if (a.is_v4() && (a.to_v4().to_bytes()[0] == 169 && a.to_v4().to_bytes()[1] == 254)) return false;
    if (a.is_v4() && a.to_v4() == boost::asio::ip::address_v4::broadcast()) return false;
    return true;
}

void add(std::vector<udp_endpoint>& out, const udp_endpoint& ep) {
    if (out.size() < max_candidates && std::find(out.begin(), out.end(), ep) == out.end())
        out.push_back(ep);
}

}  // namespace

std::string format(const udp_endpoint& ep) {
    const auto a = ep.address();
    return a.is_v6() ? fmt::format("[{}]:{}", a.to_string(), ep.port())
                     : fmt::format("{}:{}", a.to_string(), ep.port());
}

std::optional<udp_endpoint> parse(std::string_view text) {
    if (text.size() > 64) return std::nullopt;
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon + 1 >= text.size()) return std::nullopt;
    auto host = text.substr(0, colon);
    const auto port_text = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
        if (host.find(':') == std::string_view::npos) return std::nullopt;  // "[1.2.3.4]"
    } else if (host.find(':') != std::string_view::npos) {
        return std::nullopt;  // IPv6 without brackets
    }
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535)
        return std::nullopt;
    boost::system::error_code bad;
    const auto a = boost::asio::ip::make_address(std::string(host), bad);
    if (bad) return std::nullopt;
    return udp_endpoint(a, static_cast<unsigned short>(port));
}

std::vector<udp_endpoint> order(const std::optional<udp_endpoint>& mapped,
                                const std::vector<address>& locals, unsigned short port) {
    std::vector<udp_endpoint> out;
    if (mapped && usable(mapped->address(), true)) add(out, *mapped);
    for (const auto& a : locals) {
        if (!usable(a, false)) continue;
        if (mapped && a.is_v4() != mapped->address().is_v4()) continue;
        add(out, udp_endpoint(a, port));
    }
    return out;
}

std::vector<udp_endpoint> accept(const std::vector<std::string>& texts, bool allow_loopback) {
    std::vector<udp_endpoint> out;
    for (const auto& t : texts) {
        if (out.size() >= max_candidates) break;
        const auto ep = parse(t);
        if (ep && usable(ep->address(), allow_loopback)) add(out, *ep);
    }
    return out;
}

}  // namespace burrow::p2p
