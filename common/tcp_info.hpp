// What the kernel knows of a TCP connection, for code that holds only its
// descriptor (its own file: <linux/tcp.h> cannot meet <netinet/tcp.h>, which
// Asio's headers bring in).
#pragma once

#include <cstdint>
#include <optional>

namespace burrow {

// Bytes the connection behind `fd` has received in order, whether or not
// anyone has read them yet; nullopt when the kernel cannot tell (not TCP).
std::optional<std::uint64_t> tcp_bytes_received(int fd);

}  // namespace burrow
