#include "client/p2p/udp_batch.hpp"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace burrow::udp_batch {

namespace {
boost::system::error_code last_error() {
    return {errno, boost::system::system_category()};
}
}  // namespace

void enable_gro(int fd) {
    int on = 1;
    ::setsockopt(fd, IPPROTO_UDP, UDP_GRO, &on, sizeof on);
}

bool reader::drain(int fd, const std::function<void(std::span<const std::uint8_t>, const endpoint&)>& each,
                   int max_calls) {
    for (int call = 0; call < max_calls; ++call) {
        endpoint from;
        iovec iov{buf_.data(), buf_.size()};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
        msghdr msg{};
        msg.msg_name = from.data();
        msg.msg_namelen = static_cast<socklen_t>(from.capacity());
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        const auto n = ::recvmsg(fd, &msg, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EBADF) return false;
            continue;  // an ICMP error for one of our sends: that peer is unreachable
        }
        from.resize(msg.msg_namelen);
        std::size_t segment = static_cast<std::size_t>(n);
        for (auto* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c))
            if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) {
                int size = 0;
                std::memcpy(&size, CMSG_DATA(c), sizeof size);
                if (size > 0) segment = static_cast<std::size_t>(size);
            }
        const auto total = static_cast<std::size_t>(n);
        for (std::size_t at = 0; at < total; at += segment)
            each({buf_.data() + at, std::min(segment, total - at)}, from);
    }
    return true;
}

boost::system::error_code send(int fd, const endpoint& to, std::span<const std::uint8_t> bytes,
                               std::size_t segment, bool& gso) {
    if (bytes.size() > segment && gso) {
        iovec iov{const_cast<std::uint8_t*>(bytes.data()), bytes.size()};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(std::uint16_t))]{};
        msghdr msg{};
        msg.msg_name = const_cast<sockaddr*>(to.data());
        msg.msg_namelen = static_cast<socklen_t>(to.size());
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        auto* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = IPPROTO_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
        const auto size = static_cast<std::uint16_t>(segment);
        std::memcpy(CMSG_DATA(c), &size, sizeof size);
        while (true) {
            if (::sendmsg(fd, &msg, 0) >= 0) return {};
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return last_error();
            if (errno != EIO && errno != EINVAL && errno != EOPNOTSUPP) return {};  // lost, as UDP may be
            gso = false;  // no GSO here: one by one from now on
            break;
        }
    }
    for (std::size_t at = 0; at < bytes.size(); at += segment) {
        const auto len = std::min(segment, bytes.size() - at);
        while (::sendto(fd, bytes.data() + at, len, 0, to.data(), static_cast<socklen_t>(to.size())) < 0) {
            if (errno == EINTR) continue;
            // Part of a batch may be out already: the rest is lost, as UDP
            // may lose it, and QUIC sends it again.
            if ((errno == EAGAIN || errno == EWOULDBLOCK) && at == 0) return last_error();
            break;
        }
    }
    return {};
}

}  // namespace burrow::udp_batch
