#include "client/server_channel.hpp"

#include <algorithm>
#include <string>

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include "common/config/client.hpp"
#include "common/grpc/channel_args.hpp"
#include "common/log.hpp"
#include "common/tls.hpp"

namespace burrow {

namespace {

constexpr int max_message_bytes = 2 << 20;

// Authenticates the server by the SHA-256 fingerprint of its certificate
// (self-signed pairs have no CA to check against).
class fingerprint_verifier final : public grpc::experimental::ExternalCertificateVerifier {
public:
    explicit fingerprint_verifier(std::string expected) : expected_(std::move(expected)) {}

    bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
                std::function<void(grpc::Status)>, grpc::Status* sync_status) override {
        const auto pem = request->peer_cert();
        const auto got = tls::fingerprint(std::string_view(pem.data(), pem.size()));
        if (got == expected_) {
            *sync_status = grpc::Status::OK;
        } else {
            log::get("client").error(
                "the server's certificate fingerprint is {}, not the configured "
                "tls.server_fingerprint {}: refusing to connect",
                got.empty() ? "unreadable" : got, expected_);
            *sync_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                        "server certificate fingerprint mismatch");
        }
        return true;  // answered synchronously
    }
    void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {}

private:
    std::string expected_;
};

std::shared_ptr<grpc::ChannelCredentials> make_credentials(const client_config& config) {
    const auto& t = config.tls;
    if (!t.enable) return grpc::InsecureChannelCredentials();
    if (!t.server_fingerprint.empty()) {
        grpc::experimental::TlsChannelCredentialsOptions opts;
        opts.set_verify_server_certs(false);  // the fingerprint check replaces the chain
        opts.set_check_call_host(false);
        opts.set_certificate_verifier(
            grpc::experimental::ExternalCertificateVerifier::Create<fingerprint_verifier>(
                t.server_fingerprint));
        return grpc::experimental::TlsCredentials(opts);
    }
    grpc::SslCredentialsOptions opts;
    opts.pem_root_certs = tls::read_file(t.ca_file);
    return grpc::SslCredentials(opts);
}

}  // namespace

std::shared_ptr<grpc::Channel> make_server_channel(const client_config& config, std::size_t index) {
    grpc::ChannelArguments args;
    // Distinct arguments and a subchannel pool of its own: a connection of
    // its own (gRPC would otherwise share one between equal channels).
    args.SetInt("burrow.connection", static_cast<int>(index));
    args.SetMaxReceiveMessageSize(max_message_bytes);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    // Our streams are never retried by gRPC (a tunnel cannot replay bytes);
    // without the retry filter each call's arena is a fraction of the size.
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    grpc_args::no_compression([&args](const char* name, int value) { args.SetInt(name, value); });
    // Transport liveness: a half-open connection is dropped within ~30 s.
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
    // Our own backoff paces the attempts; gRPC's must not add minutes to it.
    const int max_backoff_ms = static_cast<int>(config.transport.max_backoff) * 1000;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 1000);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, std::max(1000, max_backoff_ms));
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
                static_cast<int>(config.transport.dial_timeout) * 1000);
    if (config.tls.enable && config.tls.server_fingerprint.empty() &&
        config.tls.server_name != config.server_addr)
        args.SetSslTargetNameOverride(config.tls.server_name);
    const auto target = config.server_addr.find(':') != std::string::npos
                            ? fmt::format("[{}]:{}", config.server_addr, config.server_port)
                            : fmt::format("{}:{}", config.server_addr, config.server_port);
    return grpc::CreateCustomChannel(target, make_credentials(config), args);
}

}  // namespace burrow
