// A TCP proxy's public listener: accepts user connections and hands each to
// the owning client session, which pairs it with a Work stream.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

namespace burrow {

class client_session;

class tcp_proxy : public std::enable_shared_from_this<tcp_proxy> {
public:
    // `acceptor` is bound and listening (see port_manager).
    tcp_proxy(boost::asio::ip::tcp::acceptor acceptor, std::string name,
              std::weak_ptr<client_session> owner);

    void start();
    void stop();  // idempotent; closes the listener, open connections live on
    // Runs `f` on the listener's strand after what was asked of it before
    // (after stop(): once the port is free).
    void when_stopped(std::function<void()> f);
    // Accepting pauses while the owner has too many connections waiting for a
    // work stream (the kernel's listen backlog holds the rest); resume() goes on.
    void resume();
    std::uint16_t port() const noexcept { return port_; }
    const std::string& name() const noexcept { return name_; }

private:
    void accept();

    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer retry_timer_;
    std::string name_;
    std::weak_ptr<client_session> owner_;
    std::uint16_t port_;
    bool paused_ = false;
};

}  // namespace burrow
