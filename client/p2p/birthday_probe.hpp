// Birthday probing's sockets and ports for one punch (the policy, who does
// what and how many, is common/p2p/birthday.hpp). The hard side, behind a
// symmetric NAT, opens extra sockets: each is a new mapping of its NAT, and
// each probes the peer's mapped address. The easy side probes many random
// ports of the peer's mapped address, a share per probe round, so that some
// of those mappings find its own NAT open to them. The first extra socket
// that an authenticated packet reaches becomes the path's socket (take()).
//
// Not thread-safe: the direct path uses it on its strand.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/udp.hpp>

namespace burrow::p2p {

class birthday_probe {
public:
    using socket_ptr = std::shared_ptr<boost::asio::ip::udp::socket>;
    using endpoint = boost::asio::ip::udp::endpoint;

    birthday_probe() = default;
    ~birthday_probe() { close(); }
    birthday_probe(const birthday_probe&) = delete;
    birthday_probe& operator=(const birthday_probe&) = delete;

    // The hard side: up to `want` sockets on `ex`, bound to any port of
    // `protocol`, as many as the process-wide budget (host_resources.hpp)
    // and the file limit allow; each is handed to `listen`. `tag` prefixes
    // the log line that says when fewer than `want` were opened.
    void open_sockets(const boost::asio::any_io_executor& ex, boost::asio::ip::udp protocol, int want,
                      const std::string& tag, const std::function<void(const socket_ptr&)>& listen);
    const std::vector<socket_ptr>& sockets() const { return extra_; }

    // The easy side: `count` random ports of `to`, spread over `rounds`
    // probe rounds.
    void plan_spray(const boost::asio::ip::address& to, int count, std::int64_t rounds);
    std::size_t ports_planned() const { return spray_.size(); }
    // This round's share of the ports, each handed to `probe`.
    void spray_round(const std::function<void(const endpoint&)>& probe);

    // `chosen`, if it is one of the extra sockets, taken out of them (its
    // 1-based number in `number`); the others are closed. nullptr otherwise.
    socket_ptr take(const boost::asio::ip::udp::socket* chosen, std::size_t& number);

    // Closes the extra sockets, releases their budget, forgets the ports.
    void close();

private:
    std::vector<socket_ptr> extra_;
    int reserved_ = 0;  // of the process-wide budget
    std::vector<std::uint16_t> spray_;
    boost::asio::ip::address spray_to_;
    std::size_t per_round_ = 0;
};

}  // namespace burrow::p2p
