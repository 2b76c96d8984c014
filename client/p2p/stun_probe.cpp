#include "client/p2p/stun_probe.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <system_error>

#include <openssl/rand.h>

#include "common/stun/codec.hpp"

namespace burrow {

namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

[[noreturn]] void fail(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

// The source address the kernel picks for `server`: connect a throwaway
// socket (UDP connect sends nothing) and read it back.
boost::asio::ip::address route_source(const stun_probe::endpoint& server) {
    const int fd = ::socket(server.protocol().family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail("socket");
    stun_probe::endpoint source;
    socklen_t len = static_cast<socklen_t>(source.capacity());
    const bool ok = ::connect(fd, server.data(), static_cast<socklen_t>(server.size())) == 0 &&
                    ::getsockname(fd, source.data(), &len) == 0;
    ::close(fd);
    if (!ok) fail("connect");
    source.resize(len);
    return source.address();
}

}  // namespace

stun_probe::stun_probe(const endpoint& server) {
    fd_ = ::socket(server.protocol().family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) fail("socket");
    const endpoint any(server.protocol(), 0);
    endpoint bound;
    socklen_t len = static_cast<socklen_t>(bound.capacity());
    if (::bind(fd_, any.data(), static_cast<socklen_t>(any.size())) != 0 ||
        ::getsockname(fd_, bound.data(), &len) != 0) {
        const int e = errno;
        ::close(fd_);
        throw std::system_error(e, std::generic_category(), "bind");
    }
    bound.resize(len);
    local_ = endpoint(route_source(server), bound.port());
}

stun_probe::~stun_probe() { ::close(fd_); }

std::optional<stun_probe::answer> stun_probe::ask(const endpoint& to, std::uint32_t change,
                                                  const endpoint& expect_from,
                                                  milliseconds patience) {
    stun::transaction_id txid;
    if (RAND_bytes(txid.data(), static_cast<int>(txid.size())) != 1) return std::nullopt;
    stun::builder request(stun::binding, stun::msg_class::request, txid);
    if (change != 0) request.change_request(change);
    request.fingerprint();
    const auto req = request.bytes();

    constexpr std::array<milliseconds, 5> resend_at{milliseconds(0), milliseconds(100),
                                                    milliseconds(300), milliseconds(700),
                                                    milliseconds(1500)};
    const auto start = clock::now();
    std::size_t sent = 0;
    std::array<std::uint8_t, 1024> buf;
    for (;;) {
        const auto now = clock::now();
        if (now - start >= patience) return std::nullopt;
        if (sent < resend_at.size() && now - start >= resend_at[sent]) {
            ::sendto(fd_, req.data(), req.size(), 0, to.data(), static_cast<socklen_t>(to.size()));
            ++sent;  // a lost or refused send is a lost packet: resent later
        }
        auto next = start + patience;
        if (sent < resend_at.size()) next = std::min(next, start + resend_at[sent]);
        const auto wait = std::chrono::duration_cast<milliseconds>(next - clock::now());
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(std::max<long long>(wait.count(), 0) + 1)) <= 0) continue;
        endpoint from;
        socklen_t len = static_cast<socklen_t>(from.capacity());
        const ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), MSG_DONTWAIT, from.data(), &len);
        if (n <= 0) continue;  // an ICMP error of an earlier send, or nothing
        from.resize(len);
        if (from != expect_from) continue;
        if (auto mapped = stun::binding_answer({buf.data(), static_cast<std::size_t>(n)}, txid))
            return answer{*mapped, from};
    }
}

}  // namespace burrow
