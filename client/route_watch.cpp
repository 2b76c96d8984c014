#include "client/route_watch.hpp"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <chrono>

#include <boost/asio/post.hpp>

#include "common/log.hpp"

namespace burrow {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
spdlog::logger& net_log() {
    static spdlog::logger& l = log::get("client");
    return l;
}

// A burst of messages (an interface going down takes its addresses and
// routes with it) is one change: checked once it has been quiet this long.
constexpr auto settle_time = std::chrono::milliseconds(300);
}  // namespace

route_watch::route_watch(asio::any_io_executor ex, std::string server_host,
                         std::uint16_t server_port, handler on_change)
    : strand_(asio::make_strand(ex)),
      netlink_(strand_),
      settle_(strand_),
      resolver_(strand_),
      host_(std::move(server_host)),
      port_(server_port),
      on_change_(std::move(on_change)) {}

void route_watch::start() {
    asio::post(strand_, [self = shared_from_this()] {
        error_code ec;
        self->netlink_.open(asio::generic::raw_protocol(AF_NETLINK, NETLINK_ROUTE), ec);
        sockaddr_nl local{};
        local.nl_family = AF_NETLINK;
        local.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE |
                          RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE;
        if (!ec)
            self->netlink_.bind(asio::generic::raw_protocol::endpoint(&local, sizeof local), ec);
        if (ec) {
            net_log().debug("no netlink ({}): network changes are noticed by heartbeats only",
                            ec.message());
            return;
        }
        self->check(false);
        self->receive();
    });
}

void route_watch::stop() {
    asio::post(strand_, [self = shared_from_this()] {
        self->stopped_ = true;
        error_code ignored;
        self->netlink_.close(ignored);
        self->settle_.cancel();
        self->resolver_.cancel();
    });
}

void route_watch::receive() {
    netlink_.async_receive(asio::buffer(buf_),
                           [self = shared_from_this()](const error_code& ec, std::size_t) {
                               if (ec == asio::error::operation_aborted || self->stopped_) return;
                               // What changed does not matter: only where the
                               // path to the server leaves from now.
                               self->settle_.expires_after(settle_time);
                               self->settle_.async_wait([self](const error_code& e) {
                                   if (!e) self->check(true);
                               });
                               if (!ec || ec == asio::error::no_buffer_space) self->receive();
                           });
}

// Resolves the server (it may be a name) and asks for the source address.
void route_watch::check(bool report) {
    resolver_.async_resolve(
        host_, std::to_string(port_),
        [self = shared_from_this(), report](const error_code& ec,
                                            asio::ip::udp::resolver::results_type found) {
            if (ec || found.empty() || self->stopped_) return;
            asio::ip::udp::socket probe(self->strand_);
            error_code e;
            const auto to = found.begin()->endpoint();
            probe.open(to.protocol(), e);
            if (!e) probe.connect(to, e);  // routes only; nothing is sent
            std::string now;
            if (!e) now = probe.local_endpoint(e).address().to_string();
            if (e) now.clear();  // no route at all for now
            if (now.empty() || now == self->source_) return;
            const auto was = std::exchange(self->source_, now);
            if (report && !was.empty() && self->on_change_) self->on_change_(was, now);
        });
}

}  // namespace burrow
