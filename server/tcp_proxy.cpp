#include "server/tcp_proxy.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "common/log.hpp"
#include "common/net_util.hpp"
#include "server/client_session.hpp"

namespace burrow {

namespace asio = boost::asio;
using asio::ip::tcp;

tcp_proxy::tcp_proxy(tcp::acceptor acceptor, std::string name,
                     std::weak_ptr<client_session> owner)
    : acceptor_(std::move(acceptor)),
      retry_timer_(acceptor_.get_executor()),
      name_(std::move(name)),
      owner_(std::move(owner)),
      port_(acceptor_.local_endpoint().port()) {}

void tcp_proxy::start() { accept(); }

void tcp_proxy::stop() {
    asio::dispatch(acceptor_.get_executor(), [self = shared_from_this()] {
        boost::system::error_code ignored;
        self->acceptor_.close(ignored);
        self->retry_timer_.cancel();
    });
}

void tcp_proxy::when_stopped(std::function<void()> f) {
    asio::post(acceptor_.get_executor(), std::move(f));
}

void tcp_proxy::resume() {
    asio::dispatch(acceptor_.get_executor(), [self = shared_from_this()] {
        if (!self->paused_ || !self->acceptor_.is_open()) return;
        self->paused_ = false;
        self->accept();
    });
}

void tcp_proxy::accept() {
    acceptor_.async_accept([self = shared_from_this()](const boost::system::error_code& ec,
                                                       tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
        if (ec) {
            // Out of descriptors and the like: back off instead of spinning.
            log::get("proxy").warn("[{}] accept failed: {}", self->name_, ec.message());
            self->retry_timer_.expires_after(std::chrono::milliseconds(200));
            self->retry_timer_.async_wait([self](const boost::system::error_code& e) {
                if (!e) self->accept();
            });
            return;
        }
        auto owner = self->owner_.lock();
        if (!owner) return;
        boost::system::error_code peer_ec;
        auto peer = socket.remote_endpoint(peer_ec);
        std::string why;
        auto admission = peer_ec ? nullptr : owner->admit(peer.address(), self->name_, why);
        if (!admission) {
            socket.close(peer_ec);  // over a connection limit (logged), or already gone
            return self->accept();
        }
        socket.set_option(tcp::no_delay(true), peer_ec);
        if (owner->dispatch(self->name_, std::move(socket), to_string(peer), {},
                            std::move(admission)))
            self->accept();
        else
            self->paused_ = true;
    });
}

}  // namespace burrow
