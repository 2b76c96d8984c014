#include "server/port_manager.hpp"

#include <boost/asio/error.hpp>
#include <fmt/format.h>

namespace burrow {

namespace asio = boost::asio;
constexpr std::uint16_t first_unprivileged = 1024;

port_manager::port_manager(std::string bind_addr, std::vector<port_range> allow)
    : address_(asio::ip::make_address(bind_addr)), allow_(std::move(allow)) {}

void port_manager::set_allowed(std::vector<port_range> allow) {
    std::lock_guard lock(mutex_);
    allow_ = std::move(allow);
}

std::vector<port_range> port_manager::ranges() const {
    std::lock_guard lock(mutex_);
    return allow_;
}

bool port_manager::allowed(std::uint16_t port) const { return allowed(ranges(), port); }

std::string port_manager::describe() const { return describe(ranges()); }

bool port_manager::allowed(const std::vector<port_range>& allow, std::uint16_t port) {
    if (allow.empty()) return port >= first_unprivileged;
    for (const auto& r : allow)
        if (r.contains(port)) return true;
    return false;
}

std::string port_manager::describe(const std::vector<port_range>& allow) {
    if (allow.empty()) return "any port >= 1024";
    std::string out;
    for (const auto& r : allow) {
        if (!out.empty()) out += ", ";
        out += r.first == r.last ? fmt::format("{}", r.first)
                                 : fmt::format("{}-{}", r.first, r.last);
    }
    return out;
}

bool port_manager::try_bind(asio::ip::tcp::acceptor& acceptor, std::uint16_t port,
                            boost::system::error_code& ec) const {
    asio::ip::tcp::endpoint ep(address_, port);
    if (acceptor.is_open()) acceptor.close(ec);
    acceptor.open(ep.protocol(), ec);
    if (ec) return false;
    // Lets a restarted client re-claim its port while old connections linger in TIME_WAIT.
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    acceptor.bind(ep, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        boost::system::error_code ignored;
        acceptor.close(ignored);
        return false;
    }
    return true;
}

bool port_manager::bind(asio::ip::tcp::acceptor& acceptor, std::uint16_t port,
                        std::string& error) const {
    const auto allow = ranges();  // one set of ranges for the whole call
    boost::system::error_code ec;
    auto explain = [&](std::uint16_t p) {
        if (ec == asio::error::address_in_use) return fmt::format("port {} is already in use", p);
        if (ec == asio::error::access_denied) return fmt::format("port {}: permission denied", p);
        return fmt::format("port {}: {}", p, ec.message());
    };
    if (port != 0) {
        if (!allowed(allow, port)) {
            error = fmt::format("port {} is not allowed (allow_ports: {})", port, describe(allow));
            return false;
        }
        if (try_bind(acceptor, port, ec)) return true;
        error = explain(port);
        return false;
    }
    if (allow.empty()) {
        // The kernel's ephemeral range lies above 1024.
        if (try_bind(acceptor, 0, ec)) return true;
        error = explain(0);
        return false;
    }
    for (const auto& r : allow)
        for (unsigned p = r.first; p <= r.last; ++p)
            if (try_bind(acceptor, static_cast<std::uint16_t>(p), ec)) return true;
    error = fmt::format("no free port left in allow_ports ({})", describe(allow));
    return false;
}

}  // namespace burrow
