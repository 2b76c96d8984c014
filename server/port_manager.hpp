// Which ports TCP proxies may claim, and binding them. Thread-safe; a reload
// may replace the allowed ranges (for the proxies registered from then on).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "common/config.hpp"

namespace burrow {

class port_manager {
public:
    port_manager(std::string bind_addr, std::vector<port_range> allow);

    void set_allowed(std::vector<port_range> allow);

    // True when `port` (non-zero) may be claimed.
    bool allowed(std::uint16_t port) const;
    // "6000-6100, 7022" or "any port >= 1024".
    std::string describe() const;

    // Binds and listens. `port` 0 = any allowed free port. On failure returns
    // false and sets `error` to a message meant for the user.
    bool bind(boost::asio::ip::tcp::acceptor& acceptor, std::uint16_t port,
              std::string& error) const;

private:
    std::vector<port_range> ranges() const;
    static bool allowed(const std::vector<port_range>& allow, std::uint16_t port);
    static std::string describe(const std::vector<port_range>& allow);
    bool try_bind(boost::asio::ip::tcp::acceptor& acceptor, std::uint16_t port,
                  boost::system::error_code& ec) const;

    boost::asio::ip::address address_;
    mutable std::mutex mutex_;
    std::vector<port_range> allow_;  // guarded by mutex_
};

}  // namespace burrow
