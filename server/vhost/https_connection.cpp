// https proxies: the first bytes of a user's TLS connection are read until the
// ClientHello is complete, its server name picks the proxy, and from then on
// the connection is carried like a tcp proxy's, ClientHello first. TLS is
// never terminated here: the home service keeps its own certificate.
#include "server/vhost/https_connection.hpp"

#include <memory>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <fmt/format.h>

#include "common/host_names.hpp"
#include "common/net_util.hpp"
#include "server/client_session.hpp"
#include "server/server_state.hpp"
#include "server/vhost/client_hello.hpp"
#include "server/vhost/log.hpp"

namespace burrow::vhost {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::size_t record_header = 5;  // a TLS record's

class https_connection : public std::enable_shared_from_this<https_connection> {
public:
    https_connection(server_state& st, tcp::socket socket, conn_limits::ticket admission)
        : st_(st),
          admission_(std::move(admission)),
          socket_(std::move(socket)),
          timer_(socket_.get_executor()) {
        error_code ec;
        const auto remote = socket_.remote_endpoint(ec);
        peer_ = ec ? std::string("?") : to_string(remote);
    }

    void start() {
        timer_.expires_after(std::chrono::seconds(st_.config.vhost_header_timeout));
        timer_.async_wait([self = shared_from_this()](const error_code& ec) {
            if (ec) return;
            error_code ignored;
            self->socket_.close(ignored);  // slow or silent: the read below fails
        });
        read_more();
    }

private:
    void read_more() {
        const auto have = hello_.size();
        hello_.resize(max_client_hello + 2 * record_header);
        socket_.async_read_some(
            asio::buffer(hello_.data() + have, hello_.size() - have),
            [self = shared_from_this(), have](const error_code& ec, std::size_t n) {
                self->hello_.resize(have + n);
                if (ec) return self->give_up(ec.message());
                self->on_data();
            });
    }

    void on_data() {
        std::string name;
        switch (parse_client_hello_sni(hello_, name)) {
            case sni_result::need_more:
                if (hello_.size() >= max_client_hello + 2 * record_header)
                    return give_up("ClientHello too large");
                return read_more();
            case sni_result::none: return give_up("no server name in the ClientHello");
            case sni_result::malformed: return give_up("not a TLS ClientHello");
            case sni_result::found: break;
        }
        timer_.cancel();
        auto route = st_.vhosts.find_https(name);
        if (!route) return give_up(fmt::format("no proxy for server name '{}'", printable(name)));
        auto owner = route->owner.lock();
        if (!owner) return give_up(fmt::format("[{}] the client is offline", route->proxy));
        // The one place the https side hands a connection to a client session.
        owner->dispatch(route->proxy, std::move(socket_), peer_, std::move(hello_),
                        std::move(admission_));
    }

    void give_up(const std::string& why) {
        vhost_log().debug("https connection from {} closed: {}", peer_, why);
        timer_.cancel();
        error_code ignored;
        socket_.close(ignored);
    }

    server_state& st_;
    conn_limits::ticket admission_;  // counts it as open from its address; goes with the socket
    tcp::socket socket_;
    asio::steady_timer timer_;
    std::string hello_;
    std::string peer_;
};

}  // namespace

void serve_https(server_state& st, tcp::socket socket, conn_limits::ticket admission) {
    std::make_shared<https_connection>(st, std::move(socket), std::move(admission))->start();
}

}  // namespace burrow::vhost
