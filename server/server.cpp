#include "server/server.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <filesystem>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <fmt/format.h>
#include <grpcpp/grpcpp.h>

#include "common/config/server.hpp"
#include "common/grpc/channel_args.hpp"
#include "common/io_threads.hpp"
#include "common/log.hpp"
#include "common/net_util.hpp"
#include "common/program.hpp"
#include "common/tls.hpp"
#include "common/stream/ledger.hpp"
#include "server/client_gate.hpp"
#include "server/dashboard/dashboard.hpp"
#include "server/grpc/service.hpp"
#include "server/rendezvous/rendezvous.hpp"
#include "server/client_session.hpp"
#include "server/reload.hpp"
#include "server/server_state.hpp"
#include "server/vhost/listener.hpp"

namespace burrow {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
// Frames carry at most 1 MiB of data; anything much larger is hostile.
constexpr int max_message_bytes = 2 << 20;
// Our requests carry a handful of short headers.
constexpr int max_metadata_bytes = 8 << 10;

std::string grpc_address(const std::string& host, std::uint16_t port) {
    if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
    return fmt::format("{}:{}", host, port);
}

// Connections that have not logged in may use an eighth of the descriptors
// (two each: gRPC's and the gate's): the rest stays for users and clients.
// Those the gate shut down and gRPC has not closed yet count as well.
client_gate::limits gate_limits() {
    client_gate::limits l;
    l.total = std::clamp<std::size_t>(open_files_limit() / 16, 4, 1024);
    l.evictions = 2 * l.total;
    l.per_address = std::min(l.per_address, l.total);
    return l;
}

// Accepts client connections itself, rather than letting gRPC listen, so
// that the gate sees each one before gRPC spends anything on it. Admitted
// ones are handed to gRPC, which runs TLS and HTTP/2 on them as on its own.
// Lives on one strand.
class client_listener {
public:
    client_listener(asio::io_context& io, client_gate& gate)
        : acceptor_(asio::make_strand(io)),
          retry_timer_(acceptor_.get_executor()),
          sweep_timer_(acceptor_.get_executor()),
          gate_(gate) {}

    // Throws std::runtime_error naming the address.
    void bind(const std::string& host, std::uint16_t port) {
        const auto address = grpc_address(host, port);
        boost::system::error_code ec;
        asio::ip::tcp::resolver resolver(acceptor_.get_executor());
        const auto found = resolver.resolve(host, std::to_string(port),
                                            asio::ip::tcp::resolver::passive, ec);
        if (ec || found.empty())
            throw std::runtime_error(fmt::format("cannot listen on {}: {}", address,
                                                 ec ? ec.message() : "no address"));
        const asio::ip::tcp::endpoint ep = *found.begin();
        acceptor_.open(ep.protocol(), ec);
        // Lets a restarted server bind while old connections linger in TIME_WAIT;
        // not SO_REUSEPORT, which would let a second server share the port silently.
        if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec && ep.address().is_v6() && ep.address().to_v6().is_unspecified())
            acceptor_.set_option(asio::ip::v6_only(false), ec);  // "::" as gRPC binds it
        if (!ec) acceptor_.bind(ep, ec);
        if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
        if (ec)
            throw std::runtime_error(fmt::format("cannot listen on {}: {}", address, ec.message()));
    }

    std::uint16_t port() const {
        boost::system::error_code ec;
        return acceptor_.local_endpoint(ec).port();
    }

    // `handoff` must outlive the listener's strand work (it is the server's).
    void start(grpc::experimental::ExternalConnectionAcceptor* handoff) {
        handoff_ = handoff;
        asio::post(acceptor_.get_executor(), [this] { accept_next(); });
    }

    void stop() {
        asio::post(acceptor_.get_executor(), [this] {
            stopped_ = true;
            boost::system::error_code ignored;
            acceptor_.close(ignored);
            retry_timer_.cancel();
            sweep_timer_.cancel();
        });
    }

private:
    void accept_next() {
        if (stopped_) return;
        acceptor_.async_accept([this](const boost::system::error_code& ec,
                                      asio::ip::tcp::socket socket) {
            if (ec == asio::error::operation_aborted || stopped_) return;
            if (ec) return on_accept_error(ec);
            hand_over(std::move(socket));
            accept_next();
        });
    }

    // Out of descriptors (or memory): the listen queue holds the rest while we
    // wait a little, instead of spinning on the error.
    void on_accept_error(const boost::system::error_code& ec) {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_error_log_ >= 10s) {
            last_error_log_ = now;
            log::get("server").warn("accepting client connections failed: {}; retrying",
                                    ec.message());
        }
        retry_timer_.expires_after(100ms);
        retry_timer_.async_wait([this](const boost::system::error_code& e) {
            if (!e) accept_next();
        });
    }

    void hand_over(asio::ip::tcp::socket socket) {
        boost::system::error_code ec;
        const auto peer = socket.remote_endpoint(ec);
        if (ec) return;  // already gone
        // What gRPC's own listener sets on its connections.
        socket.set_option(asio::ip::tcp::no_delay(true), ec);
        socket.non_blocking(true, ec);
        if (ec) return;
        const int fd = socket.release(ec);
        if (ec) return;
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        if (!gate_.admit(peer, fd)) {
            ::close(fd);
            return;
        }
        grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters p;
        p.listener_fd = acceptor_.native_handle();
        p.fd = fd;
        handoff_->HandleNewConnection(&p);  // gRPC owns fd now
        if (!sweeping_) sweep_later();
    }

    // The gate is swept while a connection waits for its login, and not at
    // all otherwise: an idle server does not wake up for it.
    void sweep_later() {
        sweeping_ = true;
        sweep_timer_.expires_after(gate_.limit().sweep_every);
        sweep_timer_.async_wait([this](const boost::system::error_code& e) {
            if (e || stopped_) return;
            if (gate_.expire(std::chrono::steady_clock::now()))
                sweep_later();
            else
                sweeping_ = false;
        });
    }

    asio::ip::tcp::acceptor acceptor_;
    asio::steady_timer retry_timer_;
    asio::steady_timer sweep_timer_;
    client_gate& gate_;
    grpc::experimental::ExternalConnectionAcceptor* handoff_ = nullptr;
    bool stopped_ = false;
    bool sweeping_ = false;
    std::chrono::steady_clock::time_point last_error_log_{};
};

}  // namespace

struct server::impl {
    explicit impl(std::shared_ptr<const server_config> c)
        : state(std::move(c), runner.io()),
          gate(gate_limits()),
          service(state, gate),
          listener(runner.io(), gate) {}

    io_threads runner;
    server_state state;
    client_gate gate;
    tunnel_service service;
    client_listener listener;
    std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> handoff;
    std::unique_ptr<grpc::Server> grpc_server;
    std::vector<std::unique_ptr<vhost_listener>> vhosts;
    std::unique_ptr<dashboard_server> dashboard;
    std::unique_ptr<rendezvous> meeting;  // P2P rendezvous; null when [p2p] enable = false
    bool stopped = false;

    std::shared_ptr<grpc::ServerCredentials> credentials() {
        const auto& cfg = state.config;
        auto& l = log::get("server");
        if (!cfg.tls.enable) {
            l.warn("TLS is off: client traffic and logins are not encrypted");
            return grpc::InsecureServerCredentials();
        }
        tls::key_cert pair;
        if (!cfg.tls.cert_file.empty()) {
            pair = tls::load_pair(cfg.tls.cert_file, cfg.tls.key_file);
        } else {
            bool created = false;
            pair = tls::load_or_create_self_signed(cfg.data_dir, created);
            if (created)
                l.info("generated a self-signed TLS certificate in {}",
                       (std::filesystem::path(cfg.data_dir) / "server.crt").string());
        }
        l.info("TLS certificate fingerprint: {}", tls::fingerprint(pair.cert_pem));
        grpc::SslServerCredentialsOptions opts;
        opts.pem_key_cert_pairs.push_back({pair.key_pem, pair.cert_pem});
        return grpc::SslServerCredentials(opts);
    }
};

server::server(std::shared_ptr<const server_config> config)
    : impl_(std::make_unique<impl>(std::move(config))) {}

server::~server() { stop(); }

void server::start() {
    auto& im = *impl_;
    stream::ledger::configure(im.state.config.resume_buffer, im.state.config.resume_buffer_total);
    const auto& cfg = im.state.config;

    if (cfg.vhost_http_port != 0)
        im.vhosts.push_back(std::make_unique<vhost_listener>(im.state, vhost_listener::kind::http));
    if (cfg.vhost_https_port != 0)
        im.vhosts.push_back(std::make_unique<vhost_listener>(im.state, vhost_listener::kind::https));
    for (auto& v : im.vhosts) v->start();

    im.listener.bind(cfg.bind_addr, cfg.bind_port);
    if (cfg.p2p.enable) {
        im.meeting = std::make_unique<rendezvous>(im.runner.io());
        im.meeting->bind(cfg.bind_addr, cfg.p2p.rendezvous_port);
        im.state.rendezvous_port = im.meeting->port();
        im.meeting->start();
    }
    grpc::ServerBuilder builder;
    im.handoff = builder.experimental().AddExternalConnectionAcceptor(
        grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD,
        im.credentials());
    builder.RegisterService(&im.service);
    builder.SetMaxReceiveMessageSize(max_message_bytes);
    builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE, max_metadata_bytes);
    // Each Work stream carries one user connection, which needs a descriptor
    // of its own here: more streams than descriptors cannot be of use to a
    // client. (Streams before login are bounded by the gate, far lower.)
    builder.AddChannelArgument(
        GRPC_ARG_MAX_CONCURRENT_STREAMS,
        static_cast<int>(std::clamp<std::size_t>(open_files_limit(), 1024, 1 << 20)));
    // Clients ping for liveness while idle; allow it.
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    grpc_args::no_compression(
        [&builder](const char* name, int value) { builder.AddChannelArgument(name, value); });
    im.grpc_server = builder.BuildAndStart();
    if (!im.grpc_server)
        throw std::runtime_error("cannot start the gRPC server for clients");
    im.listener.start(im.handoff.get());

    im.state.sessions.sweep_acks_every(im.runner.io().get_executor(), std::chrono::seconds(1));
    if (cfg.dashboard.port != 0) {
        im.dashboard = std::make_unique<dashboard_server>(im.state);
        im.dashboard->start();
    }
    im.runner.start();
    if (im.meeting)
        log::get("server").info("rendezvous (STUN) on udp {} and {}",
                                grpc_address(cfg.bind_addr, im.meeting->port()),
                                im.meeting->port() + 1);
    log::get("server").info("listening for clients on {} (tls {})",
                            grpc_address(cfg.bind_addr, im.listener.port()),
                            cfg.tls.enable ? "on" : "off");
}

std::uint16_t server::port() const { return impl_->listener.port(); }

void server::run_until_signal(signal_watch& signals) {
    // The watchdog leaves the drain its time and then some.
    const auto limit = std::chrono::seconds(impl_->state.config.shutdown_timeout + 5);
    const int sig = signals.wait([this] { reload(); }, limit);
    log::get("server").info("signal {}: shutting down", sig);
    stop();
}

void server::reload() {
    if (!impl_->stopped) reload_config(impl_->state);
}

// Nothing new is accepted; open connections of tcp proxies and visits (an
// ssh session, a download) get up to shutdown_timeout to finish on their
// own. Those of the http/https vhosts end with the rest after it: an idle
// keep-alive connection would otherwise hold every stop for the whole time.
void server::drain() {
    auto& st = impl_->state;
    st.draining = true;
    for (auto& run : st.all_runs()) run->stop_accepting();
    wait_for_drain([&st] { return st.limits.open_on_proxies() + st.splices().size(); },
                   std::chrono::seconds(st.config.shutdown_timeout),
                   "connection(s) of tcp proxies and visits", log::get("server"));
}

void server::stop() {
    auto& im = *impl_;
    if (im.stopped) return;
    im.stopped = true;
    im.listener.stop();
    if (im.meeting) im.meeting->stop();
    if (im.dashboard) im.dashboard->stop();
    for (auto& v : im.vhosts) v->stop();
    drain();
    if (im.grpc_server) {
        // Clients hear why their sessions end; then live RPCs are cancelled
        // after a short grace and sessions clean up on the io threads.
        im.service.stop_sessions("server shutting down");
        im.grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
        im.grpc_server->Wait();
    }
    im.runner.stop();
    im.gate.close_all();
}

}  // namespace burrow
