#include "client/local_dialer.hpp"

#include <map>
#include <mutex>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <fmt/format.h>

#include "common/config/client.hpp"
#include "common/log.hpp"
#include "common/stream/pump.hpp"

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

}  // namespace

std::shared_ptr<stream::rate_limit> bandwidth_of(const proxy_config& proxy) {
    if (proxy.bandwidth_limit == 0) return nullptr;
    // One bucket per proxy, shared by its sessions while any is open; a
    // reload that changes the limit starts a new one for new sessions.
    static std::mutex mutex;
    static std::map<std::pair<std::string, std::uint64_t>, std::weak_ptr<stream::rate_limit>> buckets;
    std::lock_guard lock(mutex);
    std::erase_if(buckets, [](const auto& b) { return b.second.expired(); });
    auto& weak = buckets[{proxy.name, proxy.bandwidth_limit}];
    auto limit = weak.lock();
    if (!limit) weak = limit = std::make_shared<stream::rate_limit>(proxy.bandwidth_limit);
    return limit;
}

void dial_local(std::shared_ptr<stream::pump> p, const proxy_config& proxy, std::string tag,
                std::string peer, std::chrono::seconds timeout) {
    p->set_rate_limit(bandwidth_of(proxy));
    std::make_shared<local_dialer>(std::move(p), proxy, std::move(tag), std::move(peer), timeout)
        ->start();
}

}  // namespace burrow
