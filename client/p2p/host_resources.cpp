#include "client/p2p/host_resources.hpp"

#include <ifaddrs.h>
#include <net/if.h>

#include <algorithm>
#include <atomic>

#include "common/program.hpp"

namespace burrow::p2p {

namespace asio = boost::asio;

std::vector<asio::ip::address> local_addresses() {
    std::vector<asio::ip::address> out;
    ifaddrs* all = nullptr;
    if (::getifaddrs(&all) != 0) return out;
    for (auto* i = all; i != nullptr; i = i->ifa_next) {
        if (i->ifa_addr == nullptr || (i->ifa_flags & IFF_UP) == 0) continue;
        if (i->ifa_addr->sa_family == AF_INET) {
            const auto* a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
            out.push_back(asio::ip::address_v4(ntohl(a->sin_addr.s_addr)));
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            const auto* a = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
            asio::ip::address_v6::bytes_type b;
            std::copy(std::begin(a->sin6_addr.s6_addr), std::end(a->sin6_addr.s6_addr), b.begin());
            out.push_back(asio::ip::address_v6(b));
        }
    }
    ::freeifaddrs(all);
    return out;
}

namespace {

std::atomic<int> extra_sockets_open{0};

int extra_sockets_cap() {
    static const int cap = static_cast<int>(std::min<std::size_t>(512, open_files_limit() / 4));
    return cap;
}

}  // namespace

int reserve_extra_sockets(int want) {
    int now = extra_sockets_open.load();
    int granted = 0;
    do {
        granted = std::clamp(extra_sockets_cap() - now, 0, want);
    } while (!extra_sockets_open.compare_exchange_weak(now, now + granted));
    return granted;
}

void release_extra_sockets(int reserved) { extra_sockets_open -= reserved; }

}  // namespace burrow::p2p
