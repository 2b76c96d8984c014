#include "server/rendezvous/rendezvous.hpp"

#include <array>
#include <chrono>
#include <stdexcept>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include "common/log.hpp"
#include "common/stun/codec.hpp"
#include "server/rendezvous/answer_budget.hpp"

namespace burrow {

namespace asio = boost::asio;
using udp = asio::ip::udp;

namespace {

// STUN requests are tens of bytes; a datagram that fills this is not one.
constexpr std::size_t receive_size = 1024;

// An IPv4 peer seen through a dual-stack socket is reported as IPv4.
udp::endpoint unmapped(const udp::endpoint& ep) {
    const auto a = ep.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped())
        return {asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()), ep.port()};
    return ep;
}

}  // namespace

struct rendezvous::impl : std::enable_shared_from_this<impl> {
    explicit impl(asio::io_context& io)
        : strand(asio::make_strand(io)), sockets{udp::socket(strand), udp::socket(strand)} {}

    asio::strand<asio::io_context::executor_type> strand;
    std::array<udp::socket, 2> sockets;
    std::array<std::array<std::uint8_t, receive_size>, 2> buffers{};
    std::array<udp::endpoint, 2> senders;
    answer_budget budget;
    counters stats;
    std::chrono::steady_clock::time_point last_limit_log{};
    bool stopped = false;

    // Opens both sockets on `port` and `port + 1`; false (both closed) when
    // one of them is taken.
    bool try_bind(const udp::endpoint& first, boost::system::error_code& ec) {
        for (std::size_t i = 0; i < 2; ++i) {
            auto ep = first;
            if (i == 1) ep.port(static_cast<std::uint16_t>(sockets[0].local_endpoint().port() + 1));
            sockets[i].open(ep.protocol(), ec);
            if (!ec && ep.address().is_v6() && ep.address().to_v6().is_unspecified())
                sockets[i].set_option(asio::ip::v6_only(false), ec);
            if (!ec) sockets[i].bind(ep, ec);
            if (!ec) sockets[i].non_blocking(true, ec);  // a full send buffer drops, never blocks
            if (!ec && i == 0 && sockets[0].local_endpoint().port() == 65535)
                ec = asio::error::address_in_use;  // no next port
            if (ec) {
                boost::system::error_code ignored;
                for (auto& s : sockets) s.close(ignored);
                return false;
            }
        }
        return true;
    }

    void receive(std::size_t which) {
        auto& buf = buffers[which];
        sockets[which].async_receive_from(
            asio::buffer(buf), senders[which],
            [self = shared_from_this(), which](const boost::system::error_code& ec, std::size_t n) {
                if (self->stopped || ec == asio::error::operation_aborted) return;
                // Errors on an unconnected UDP socket (an ICMP error for an
                // earlier answer) concern that one peer only.
                if (!ec) self->answer(which, n);
                self->receive(which);
            });
    }

    void answer(std::size_t which, std::size_t n) {
        const auto& from = senders[which];
        stun::message m;
        const std::span<const std::uint8_t> packet(buffers[which].data(), n);
        if (n >= receive_size || from.port() == 0 || stun::parse(packet, m) != stun::parse_error::none ||
            m.method != stun::binding || m.cls != stun::msg_class::request) {
            ++stats.ignored;
            return;
        }
        // We have one address: a request to answer from another one is
        // refused by silence rather than answered from this one, which would
        // tell the asker its NAT lets in what it does not.
        const auto change = stun::change_request(m);
        if (!change || (*change & stun::change_ip) != 0) {
            ++stats.ignored;
            return;
        }
        const auto now = std::chrono::steady_clock::now();
        if (!budget.take(from.address(), now)) {
            ++stats.limited;
            if (now - last_limit_log >= std::chrono::seconds(10)) {
                last_limit_log = now;
                log::get("rendezvous").warn("answers rate-limited (latest from {}; {} so far)",
                                            fmt::streamed(from.address()), stats.limited.load());
            }
            return;
        }
        // Only the address; a fingerprint only where the request had one.
        stun::builder reply(stun::binding, stun::msg_class::success, m.txid);
        reply.xor_mapped_address(unmapped(from));
        if (m.has_fingerprint) reply.fingerprint();
        const std::size_t out = (*change & stun::change_port) != 0 ? 1 - which : which;
        boost::system::error_code ec;
        sockets[out].send_to(asio::buffer(reply.bytes().data(), reply.bytes().size()), from, 0, ec);
        if (!ec) ++stats.answered;
    }
};

rendezvous::rendezvous(asio::io_context& io) : impl_(std::make_shared<impl>(io)) {}

rendezvous::~rendezvous() { stop(); }

void rendezvous::bind(const std::string& host, std::uint16_t port) {
    boost::system::error_code ec;
    udp::resolver resolver(impl_->strand);
    const auto found = resolver.resolve(host, "0", udp::resolver::passive, ec);
    if (ec || found.empty())
        throw std::runtime_error(fmt::format("rendezvous: cannot resolve {}: {}", host,
                                             ec ? ec.message() : "no address"));
    const auto address = found.begin()->endpoint().address();
    // Any free pair: ask the kernel for one port and hope the next is free,
    // a few times over.
    const int tries = port == 0 ? 64 : 1;
    for (int i = 0; i < tries; ++i)
        if (impl_->try_bind({address, port}, ec)) return;
    throw std::runtime_error(fmt::format("rendezvous: cannot bind UDP {} on {}: {}",
                                         port == 0 ? std::string("two adjacent ports")
                                                   : fmt::format("{} and {}", port, port + 1),
                                         host, ec.message()));
}

std::uint16_t rendezvous::port() const {
    boost::system::error_code ec;
    const auto ep = impl_->sockets[0].local_endpoint(ec);
    return ec ? 0 : ep.port();
}

void rendezvous::start() {
    asio::post(impl_->strand, [self = impl_] {
        if (self->stopped) return;
        self->receive(0);
        self->receive(1);
    });
}

void rendezvous::stop() {
    asio::post(impl_->strand, [self = impl_] {
        if (std::exchange(self->stopped, true)) return;
        boost::system::error_code ignored;
        for (auto& s : self->sockets) s.close(ignored);
    });
}

const rendezvous::counters& rendezvous::stats() const { return impl_->stats; }

}  // namespace burrow
