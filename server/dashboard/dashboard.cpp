#include "server/dashboard/dashboard.hpp"

#include <map>
#include <stdexcept>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

#include "common/log.hpp"
#include "server/dashboard/site.hpp"
#include "server/server_state.hpp"

namespace burrow {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t max_connections = 64;
constexpr std::size_t max_per_address = 16;
constexpr std::size_t header_limit = 8 << 10;
constexpr std::size_t body_limit = 16 << 10;
constexpr auto request_timeout = 10s;
constexpr auto idle_timeout = 30s;
constexpr auto write_timeout = 10s;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

spdlog::logger& dash_log() {
    static spdlog::logger& l = log::get("dashboard");
    return l;
}

}  // namespace

// The coroutines and handlers on `io` use the impl by reference: it outlives
// them, as `io` (its first member, so its last to go) destroys what is left
// of them once its thread has stopped.
struct dashboard_server::impl {
    explicit impl(server_state& s) : st(s), pages(s), acceptor(io), sampler(io) {}
    ~impl() { stop(); }

    asio::io_context io{1};
    server_state& st;
    dashboard::site pages;
    tcp::acceptor acceptor;
    asio::steady_timer sampler;
    std::thread thread;
    std::uint16_t port = 0;
    // Open connections, per address (on the dashboard's thread only).
    std::size_t open = 0;
    std::map<asio::ip::address, std::size_t> per_address;

    void bind() {
        const auto& cfg = st.config.dashboard;
        boost::system::error_code ec;
        const auto addr = asio::ip::make_address(cfg.addr, ec);
        const tcp::endpoint at(addr, cfg.port);
        if (!ec) acceptor.open(at.protocol(), ec);
        if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
        if (!ec) acceptor.bind(at, ec);
        if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
        if (ec)
            throw std::runtime_error(fmt::format("cannot listen for the dashboard on {}:{}: {}",
                                                 cfg.addr, cfg.port, ec.message()));
        port = acceptor.local_endpoint().port();
    }

    asio::awaitable<void> accept() {
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(nothrow);
            if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
            if (ec) {
                // Out of descriptors and the like: back off instead of spinning.
                dash_log().warn("accept failed: {}", ec.message());
                asio::steady_timer pause(io, 200ms);
                co_await pause.async_wait(nothrow);
                continue;
            }
            boost::system::error_code peer_ec;
            const auto peer = socket.remote_endpoint(peer_ec);
            if (peer_ec) continue;
            auto& mine = per_address[peer.address()];
            if (open >= max_connections || mine >= max_per_address) {
                if (mine == 0) per_address.erase(peer.address());
                dash_log().debug("connection from {} refused: too many", peer.address().to_string());
                continue;  // closed as it goes
            }
            ++open;
            ++mine;
            asio::co_spawn(io, serve(std::move(socket), peer.address()), asio::detached);
        }
    }

    asio::awaitable<void> serve(tcp::socket socket, asio::ip::address from) {
        beast::tcp_stream stream(std::move(socket));
        beast::flat_buffer buffer;
        for (bool first = true;; first = false) {
            http::request_parser<http::string_body> parser;
            parser.header_limit(header_limit);
            parser.body_limit(body_limit);
            // Idle between requests, then the request itself has its own deadline.
            stream.expires_after(first ? request_timeout : idle_timeout);
            auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, nothrow);
            if (!ec && !parser.is_done()) {
                stream.expires_after(request_timeout);
                std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, nothrow);
            }
            if (ec) {
                if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
                    ec != asio::error::connection_reset && ec != asio::error::operation_aborted) {
                    // A malformed or oversized request: told so once, then closed.
                    dashboard::response bad{ec == http::error::header_limit ||
                                                    ec == http::error::body_limit
                                                ? http::status::payload_too_large
                                                : http::status::bad_request,
                                            11};
                    bad.set(http::field::content_type, "text/plain");
                    bad.body() = "bad request: " + ec.message() + "\n";
                    bad.keep_alive(false);
                    bad.prepare_payload();
                    stream.expires_after(write_timeout);
                    co_await http::async_write(stream, bad, nothrow);
                }
                break;
            }
            auto res = pages.handle(parser.get(), from);
            stream.expires_after(write_timeout);
            auto [wec, wn] = co_await http::async_write(stream, res, nothrow);
            if (wec || !res.keep_alive()) break;
        }
        boost::system::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        --open;
        if (auto it = per_address.find(from); it != per_address.end() && --it->second == 0)
            per_address.erase(it);
    }

    void sample() {
        sampler.expires_after(std::chrono::seconds(live::book::bucket_seconds));
        sampler.async_wait([this](const boost::system::error_code& ec) {
            if (ec) return;
            st.live.sample(live::unix_now());
            sample();
        });
    }

    void stop() {
        if (!thread.joinable()) return;
        io.stop();
        thread.join();
        boost::system::error_code ignored;
        acceptor.close(ignored);
    }
};

dashboard_server::dashboard_server(server_state& st) : impl_(std::make_unique<impl>(st)) {}

dashboard_server::~dashboard_server() = default;

void dashboard_server::start() {
    auto& im = *impl_;
    im.bind();
    asio::co_spawn(im.io, im.accept(), asio::detached);
    im.sample();
    im.thread = std::thread([&im] { im.io.run(); });
    const auto& cfg = im.st.config.dashboard;
    dash_log().info("dashboard on http://{}:{}/ ({})",
                    cfg.addr.find(':') != std::string::npos ? "[" + cfg.addr + "]" : cfg.addr,
                    im.port, im.pages.open() ? "no password: loopback only" : "login required");
}

void dashboard_server::stop() { impl_->stop(); }

std::uint16_t dashboard_server::port() const { return impl_->port; }

}  // namespace burrow
