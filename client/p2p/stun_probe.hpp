// One UDP socket that asks a STUN server for its mapped address (a Binding
// request, resent until answered or out of patience). Blocking, for the
// `nat` command; the P2P path manager will ask through its own socket.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include <boost/asio/ip/udp.hpp>

namespace burrow {

class stun_probe {
public:
    using endpoint = boost::asio::ip::udp::endpoint;

    // A socket of `server`'s family on a free port. Throws std::system_error.
    explicit stun_probe(const endpoint& server);
    ~stun_probe();
    stun_probe(const stun_probe&) = delete;
    stun_probe& operator=(const stun_probe&) = delete;

    // The socket's port, with the source address that the route to the
    // server uses (what a NAT-less host would be seen as).
    endpoint local() const { return local_; }

    struct answer {
        endpoint mapped;  // where the server saw us
        endpoint from;    // which of its addresses answered
    };
    // Asks `to`; with `change` (stun::change_port), for the answer from its
    // other port. Resends at 100, 300, 700, 1500 ms; an answer is taken only
    // from `expect_from` and with our transaction id.
    std::optional<answer> ask(const endpoint& to, std::uint32_t change, const endpoint& expect_from,
                              std::chrono::milliseconds patience = std::chrono::milliseconds(2500));

private:
    int fd_ = -1;
    endpoint local_;
};

}  // namespace burrow
