#include "server/server.hpp"

#include <filesystem>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>
#include <grpcpp/grpcpp.h>

#include "common/config.hpp"
#include "common/log.hpp"
#include "common/net_util.hpp"
#include "common/tls.hpp"
#include "server/control_reactor.hpp"
#include "server/http_vhost.hpp"
#include "server/server_state.hpp"

namespace burrow {

namespace asio = boost::asio;

namespace {
// Frames carry at most 1 MiB of data; anything much larger is hostile.
constexpr int max_message_bytes = 2 << 20;

std::string grpc_address(const std::string& host, std::uint16_t port) {
    if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
    return fmt::format("{}:{}", host, port);
}
}  // namespace

struct server::impl {
    explicit impl(server_config c) : state(std::move(c), io), service(state) {}

    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
    std::vector<std::thread> threads;
    server_state state;
    tunnel_service service;
    std::unique_ptr<grpc::Server> grpc_server;
    std::vector<std::unique_ptr<vhost_listener>> vhosts;
    int port = 0;
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

server::server(server_config config) : impl_(std::make_unique<impl>(std::move(config))) {}

server::~server() { stop(); }

void server::start() {
    auto& im = *impl_;
    const auto& cfg = im.state.config;
    const auto address = grpc_address(cfg.bind_addr, cfg.bind_port);

    if (cfg.vhost_http_port != 0)
        im.vhosts.push_back(std::make_unique<vhost_listener>(im.state, vhost_listener::kind::http));
    if (cfg.vhost_https_port != 0)
        im.vhosts.push_back(std::make_unique<vhost_listener>(im.state, vhost_listener::kind::https));
    for (auto& v : im.vhosts) v->start();

    grpc::ServerBuilder builder;
    builder.AddListeningPort(address, im.credentials(), &im.port);
    builder.RegisterService(&im.service);
    builder.SetMaxReceiveMessageSize(max_message_bytes);
    // gRPC defaults to SO_REUSEPORT, which would let a second server share our port silently.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    // Clients ping for liveness while idle; allow it.
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    im.grpc_server = builder.BuildAndStart();
    if (!im.grpc_server || im.port == 0)
        throw std::runtime_error(fmt::format("cannot listen on {} (in use or not permitted)",
                                             address));

    const unsigned n = std::clamp(std::thread::hardware_concurrency(), 2u, 4u);
    for (unsigned i = 0; i < n; ++i) im.threads.emplace_back([&im] { im.io.run(); });
    log::get("server").info("listening for clients on {} (tls {})",
                            grpc_address(cfg.bind_addr, static_cast<std::uint16_t>(im.port)),
                            cfg.tls.enable ? "on" : "off");
}

std::uint16_t server::port() const { return static_cast<std::uint16_t>(impl_->port); }

void server::run_until_signal() {
    log::get("server").info("signal {}: shutting down", wait_for_termination_signal());
    stop();
}

void server::stop() {
    auto& im = *impl_;
    if (im.stopped) return;
    im.stopped = true;
    for (auto& v : im.vhosts) v->stop();
    if (im.grpc_server) {
        // Cancels live RPCs after a short grace; sessions clean up on the io threads.
        im.grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
        im.grpc_server->Wait();
    }
    im.guard.reset();
    im.io.stop();
    for (auto& t : im.threads) t.join();
    im.threads.clear();
}

}  // namespace burrow
