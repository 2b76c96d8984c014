#include "client/work_stream.hpp"

#include <atomic>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <fmt/format.h>

#include "burrow.pb.h"
#include "client/control_session.hpp"
#include "client/stream_call.hpp"
#include "common/config.hpp"
#include "common/log.hpp"
#include "common/net_util.hpp"
#include "common/stream/registry.hpp"

namespace burrow {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

spdlog::logger& work_log() {
    static spdlog::logger& l = log::get("work");
    return l;
}

// Resolves and connects to a local service within a deadline, then hands the
// socket to the bridge, or tells the server why not.
class local_dialer : public std::enable_shared_from_this<local_dialer> {
public:
    local_dialer(std::shared_ptr<stream::pump> bridge, const proxy_config& proxy, std::string tag,
                 std::string peer, std::chrono::seconds timeout)
        : bridge_(std::move(bridge)),
          strand_(asio::make_strand(bridge_->get_executor())),
          resolver_(strand_),
          socket_(strand_),
          timer_(strand_, timeout),
          addr_(proxy.local_addr),
          port_(proxy.local_port),
          tag_(std::move(tag)),
          peer_(std::move(peer)),
          quiet_(proxy.type == "http") {}

    void start() {
        timer_.async_wait([self = shared_from_this()](const error_code& ec) {
            if (ec) return;
            self->timed_out_ = true;
            self->resolver_.cancel();
            error_code ignored;
            self->socket_.close(ignored);
        });
        // An address needs no resolver (a thread hop and getaddrinfo per connection).
        error_code not_an_address;
        const auto address = asio::ip::make_address(addr_, not_an_address);
        if (!not_an_address)
            return connect(tcp::resolver::results_type::create(
                tcp::endpoint(address, port_), addr_, std::to_string(port_)));
        resolver_.async_resolve(addr_, std::to_string(port_),
                                [self = shared_from_this()](const error_code& ec,
                                                            tcp::resolver::results_type r) {
                                    if (ec) return self->fail(ec);
                                    self->connect(std::move(r));
                                });
    }

private:
    void connect(tcp::resolver::results_type endpoints) {
        asio::async_connect(socket_, endpoints,
                            [self = shared_from_this()](const error_code& ec, const tcp::endpoint&) {
                                self->timer_.cancel();
                                if (ec) return self->fail(ec);
                                error_code ignored;
                                self->socket_.set_option(tcp::no_delay(true), ignored);
                                // An http proxy's connections carry requests for the
                                // server's vhost: per connection lines would be noise.
                                work_log().log(self->quiet_ ? spdlog::level::debug
                                                            : spdlog::level::info,
                                               "{} connected to local {}:{} for {}", self->tag_,
                                               self->addr_, self->port_, self->peer_);
                                stream::pump::stream_socket local(std::move(self->socket_));
                                self->bridge_->start(local, self->tag_, {}, self->quiet_);
                            });
    }

    void fail(const error_code& ec) {
        timer_.cancel();
        const std::string why = timed_out_ ? std::string("timed out") : ec.message();
        work_log().warn("{} local service {}:{} unreachable: {}", tag_, addr_, port_, why);
        bridge_->fail(fmt::format("local service unreachable: {}", why));
    }

    std::shared_ptr<stream::pump> bridge_;
    asio::strand<asio::any_io_executor> strand_;  // the timer and the connect race
    tcp::resolver resolver_;
    tcp::socket socket_;
    asio::steady_timer timer_;
    std::string addr_;
    std::uint16_t port_;
    std::string tag_, peer_;
    bool quiet_;
    bool timed_out_ = false;
};

// The head of a Work stream: the server's start names the proxy and the
// session; its local service is dialled and the session pumped.
void on_start(const std::shared_ptr<stream::pump>& p, const std::string& serialized,
              const client_config& config, stream::registry& sessions,
              const std::shared_ptr<control_session>& session) {
    v1::Frame head;
    if (!head.ParseFromString(serialized) || !head.has_start())
        return p->close("protocol error: expected start");
    if (session) session->on_work_started();

    const auto& start = head.start();
    const std::string peer = start.peer().substr(0, 64);
    const auto tag = fmt::format("[{}/{}]", start.proxy().substr(0, 64), start.conn_id());
    const proxy_config* proxy = nullptr;
    for (const auto& c : config.proxies)
        if (c.name == start.proxy()) proxy = &c;
    if (!proxy) {
        work_log().warn("{} unknown proxy", tag);
        return p->fail("unknown proxy");
    }
    if (!start.session_secret().empty() && session)
        session->make_resumable(p, start.conn_id(), start.session_secret());
    // Ids come from the server: one restarted since may repeat an id
    // an old session still holds; that session lives on unlisted.
    p->set_peer(peer);
    if (!sessions.add(start.conn_id(), p)) work_log().debug("{} session id already in use", tag);
    std::make_shared<local_dialer>(p, *proxy, tag, peer,
                                   std::chrono::seconds(config.transport.dial_timeout))
        ->start();
}

}  // namespace

void open_work_stream(std::shared_ptr<tracked_stub> stub, asio::any_io_executor ex,
                      std::shared_ptr<const client_config> config, const std::string& run_id,
                      stream::registry& sessions, std::weak_ptr<control_session> session) {
    // Until a start arrives the stream is idle; one that ends so is lost.
    auto* call = new stream_call(*stub, work_method, std::move(ex), session);
    auto pump = call->pump();  // `call` may be gone once the hello is on its way
    std::weak_ptr<stream::pump> weak = pump;
    v1::Frame hello;
    hello.mutable_hello()->set_run_id(run_id);
    pump->read_head([config = std::move(config), &sessions, weak, session,
                     call](std::string serialized) {
        auto p = weak.lock();
        if (!p) return;
        call->started();  // the head handler runs inside the call's reaction
        on_start(p, serialized, *config, sessions, session.lock());
    });
    pump->send_head(hello.SerializeAsString());
}

}  // namespace burrow
