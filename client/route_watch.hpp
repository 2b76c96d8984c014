// route_watch: tells when the local network changes under the path to the
// server, so that a laptop moving from Wi-Fi to 4G reconnects at once rather
// than after a heartbeat timeout.
//
// It listens to the kernel's routing messages (netlink: links, addresses and
// routes, IPv4 and IPv6). After each burst of them settles, it asks the
// kernel which source address it would use for the server now (a UDP socket
// connected to the server's address: no packet is sent); when that differs
// from the one before, the handler is told. Where netlink is not available
// it does nothing (the heartbeat timeout still notices a dead path).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/generic/raw_protocol.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

namespace burrow {

class route_watch : public std::enable_shared_from_this<route_watch> {
public:
    // Gets the source address before and now ("203.0.113.7"), on the strand.
    using handler = std::function<void(const std::string& was, const std::string& now)>;

    route_watch(boost::asio::any_io_executor ex, std::string server_host,
                std::uint16_t server_port, handler on_change);
    void start();
    void stop();

private:
    void receive();
    void check(bool report);

    boost::asio::strand<boost::asio::any_io_executor> strand_;
    boost::asio::generic::raw_protocol::socket netlink_;
    boost::asio::steady_timer settle_;
    boost::asio::ip::udp::resolver resolver_;
    const std::string host_;
    const std::uint16_t port_;
    handler on_change_;
    std::string source_;  // the last source address seen ("" before the first)
    bool stopped_ = false;
    std::array<char, 8192> buf_{};
};

}  // namespace burrow
