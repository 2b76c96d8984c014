// The vhost listeners: accept on vhost_http_port or vhost_https_port and hand
// each user connection to its kind of connection handler.
#include "server/vhost/listener.hpp"

#include <stdexcept>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <fmt/format.h>

#include "common/log.hpp"
#include "server/server_state.hpp"
#include "server/vhost/http_connection.hpp"
#include "server/vhost/https_connection.hpp"
#include "server/vhost/log.hpp"
#include "server/vhost/upstream_pool.hpp"

namespace burrow::vhost {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;

struct listener::impl : std::enable_shared_from_this<impl> {
    impl(server_state& s, kind k)
        : st(s),
          which(k),
          acceptor(asio::make_strand(s.io)),
          retry(acceptor.get_executor()),
          sweep_timer(acceptor.get_executor()) {}

    // Idle upstreams that went stale are closed within a few seconds.
    void sweep() {
        sweep_timer.expires_after(5s);
        sweep_timer.async_wait([self = shared_from_this()](const error_code& ec) {
            if (ec || !self->acceptor.is_open()) return;
            self->pool->sweep();
            self->sweep();
        });
    }

    void accept() {
        acceptor.async_accept(asio::make_strand(st.io), [self = shared_from_this()](
                                                              const error_code& ec,
                                                              tcp::socket socket) {
            if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
            if (ec) {
                // Out of descriptors and the like: back off instead of spinning.
                vhost_log().warn("accept failed: {}", ec.message());
                self->retry.expires_after(200ms);
                self->retry.async_wait([self](const error_code& e) {
                    if (!e) self->accept();
                });
                return;
            }
            error_code ignored;
            const auto peer = socket.remote_endpoint(ignored);
            std::string why;
            auto admission = ignored ? nullptr : self->st.limits.admit(peer.address(), "", why);
            if (!admission) {
                socket.close(ignored);  // over max_connections_per_source (logged), or gone
                return self->accept();
            }
            socket.set_option(tcp::no_delay(true), ignored);
            if (self->which == kind::http)
                serve_http(self->st, std::move(socket), self->pool, std::move(admission));
            else
                serve_https(self->st, std::move(socket), std::move(admission));
            self->accept();
        });
    }

    server_state& st;
    kind which;
    // Lives with the listener (and its connections), never past the io_context
    // its sockets belong to.
    std::shared_ptr<upstream_pool> pool = std::make_shared<upstream_pool>();
    tcp::acceptor acceptor;
    asio::steady_timer retry;
    asio::steady_timer sweep_timer;
    std::uint16_t port = 0;
};

listener::listener(server_state& st, kind k) : impl_(std::make_shared<impl>(st, k)) {}

listener::~listener() { stop(); }

void listener::start() {
    auto& im = *impl_;
    const auto wanted =
        im.which == kind::http ? im.st.config.vhost_http_port : im.st.config.vhost_https_port;
    const char* name = im.which == kind::http ? "http" : "https";
    error_code ec;
    const auto address = asio::ip::make_address(im.st.config.proxy_bind_addr, ec);
    if (!ec) im.acceptor.open(address.is_v6() ? tcp::v6() : tcp::v4(), ec);
    if (!ec) im.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) im.acceptor.bind({address, wanted}, ec);
    if (!ec) im.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        throw std::runtime_error(fmt::format("cannot listen for {} proxies on {}:{}: {}", name,
                                             im.st.config.proxy_bind_addr, wanted, ec.message()));
    im.port = im.acceptor.local_endpoint().port();
    log::get("server").info("{} vhost listening on {}:{}", name, im.st.config.proxy_bind_addr,
                            im.port);
    asio::dispatch(im.acceptor.get_executor(), [self = impl_] {
        self->accept();
        if (self->which == kind::http) self->sweep();
    });
}

void listener::stop() {
    asio::dispatch(impl_->acceptor.get_executor(), [self = impl_] {
        error_code ignored;
        self->acceptor.close(ignored);
        self->retry.cancel();
        self->sweep_timer.cancel();
    });
}

std::uint16_t listener::port() const { return impl_->port; }

}  // namespace burrow::vhost
