// Open user connections per source address, over every listener that faces
// users (tcp proxies, the http and https vhosts), and per tcp proxy: one
// address cannot take all of a server's descriptors and memory, and one busy
// proxy cannot take them from the others. Thread-safe; the limits may change
// (a reload) while tickets are out.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/ip/address.hpp>

namespace burrow {

class conn_limits {
public:
    // Held for as long as the connection is open; released on destruction.
    using ticket = std::shared_ptr<void>;

    conn_limits(std::uint32_t per_source, std::uint32_t per_proxy);
    ~conn_limits();

    void set(std::uint32_t per_source, std::uint32_t per_proxy);  // 0 = no limit

    // A connection from `source` to `proxy` ("" for a vhost connection, which
    // counts per source only); nullptr when it is over a limit, and `why`
    // says which. Refusals are logged here, at most one line a second.
    ticket admit(const boost::asio::ip::address& source, std::string_view proxy, std::string& why);

    // Open connections from `source` now (tests, the dashboard), and on tcp proxies in all.
    std::uint32_t open_from(const boost::asio::ip::address& source) const;
    std::uint64_t open_on_proxies() const;

private:
    struct core;
    struct held;
    std::shared_ptr<core> core_;
};

}  // namespace burrow
