// Many datagrams per system call on a direct path's UDP socket (Linux):
// received with GRO (the kernel hands over a run of same-sized datagrams of
// one sender in one buffer) and sent with GSO (one sendmsg, the kernel cuts
// the buffer into datagrams of `segment` bytes). QUIC moves ~1400-byte
// packets: one system call each would cost more than the cipher.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include <boost/asio/ip/udp.hpp>
#include <boost/system/error_code.hpp>

namespace burrow::udp_batch {

using endpoint = boost::asio::ip::udp::endpoint;

// Asks for GRO on `fd`; harmless where the kernel has none.
void enable_gro(int fd);

// Reads what waits on `fd` (non-blocking), at most `max_calls` recvmsg
// calls, and gives each datagram to `each` (its bytes are valid during the
// call only). Returns false once the socket is empty (or closed).
class reader {
public:
    reader() : buf_(65536) {}
    bool drain(int fd, const std::function<void(std::span<const std::uint8_t>, const endpoint&)>& each,
               int max_calls = 32);

private:
    std::vector<std::uint8_t> buf_;
};

// Sends `bytes` to `to` as datagrams of `segment` bytes (the last may be
// shorter): one sendmsg with UDP_SEGMENT when `gso` (cleared, and the
// datagrams sent one by one, if the kernel refuses it). would_block when the
// socket's buffer is full: nothing was sent.
boost::system::error_code send(int fd, const endpoint& to, std::span<const std::uint8_t> bytes,
                               std::size_t segment, bool& gso);

}  // namespace burrow::udp_batch
