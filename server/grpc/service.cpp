#include "server/grpc/service.hpp"

#include <algorithm>


#include "common/net_util.hpp"
#include "server/client_gate.hpp"
#include "server/client_session.hpp"
#include "server/grpc/streams.hpp"
#include "server/server_state.hpp"

namespace burrow {


namespace {

// "1.2.3.4:5678" or "[::1]:5678" for logs (gRPC writes "ipv6:%5B::1%5D:5678").
std::string shown_peer(const std::string& grpc_peer) {
    const auto ep = client_gate::parse_grpc_peer(grpc_peer);
    return ep ? to_string(*ep) : strip_grpc_peer(grpc_peer);
}

// A stream the gate refused: it ends at once (its connection is being shut down).
template <class Request, class Response>
class refused_reactor final : public grpc::ServerBidiReactor<Request, Response> {
public:
    refused_reactor() {
        this->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                  "too many streams before login"));
    }
    void OnDone() override { delete this; }
};

}  // namespace

control_reactor::control_reactor(grpc::CallbackServerContext* ctx, server_state& st,
                                 tunnel_service& service, std::uint64_t ticket)
    : ctx_(ctx),
      service_(service),
      grpc_peer_(ctx->peer()),
      ticket_(ticket),
      session_(std::make_shared<client_session>(st, this, shown_peer(grpc_peer_))) {
    {
        absl::MutexLock lock(&service_.mutex_);
        service_.live_.insert(this);
    }
    session_->start();
}

std::shared_ptr<client_session> control_reactor::session() {
    absl::MutexLock lock(&session_mutex_);
    return session_;
}

void control_reactor::OnReadDone(bool ok) {
    if (auto s = session()) s->on_read_done(this, ok);
}
void control_reactor::OnWriteDone(bool ok) {
    if (auto s = session()) return s->on_write_done(this, ok);
    bool finish_now = false;
    {
        absl::MutexLock lock(&session_mutex_);
        finish_now = std::exchange(finish_after_write_, false);
    }
    if (finish_now) finish();
}
void control_reactor::OnCancel() {
    if (auto s = session()) s->on_cancel(this);
}

void control_reactor::hand_to(std::shared_ptr<client_session> s) {
    absl::MutexLock lock(&session_mutex_);
    session_ = std::move(s);
}

void control_reactor::abandon(bool write_outstanding, std::shared_ptr<void> keep) {
    {
        absl::MutexLock lock(&session_mutex_);
        session_.reset();
        keep_ = std::move(keep);
        finish_after_write_ = write_outstanding;
    }
    ctx_->TryCancel();
    if (!write_outstanding) finish();
}

void control_reactor::OnDone() {
    {
        absl::MutexLock lock(&service_.mutex_);
        service_.live_.erase(this);
    }
    service_.gate_.close_stream(grpc_peer_, ticket_);
    delete this;
}

void control_reactor::logged_in() { service_.gate_.logged_in(grpc_peer_); }

void control_reactor::finish() {
    {
        absl::MutexLock lock(&service_.mutex_);
        finishing_ = true;
    }
    std::shared_ptr<client_session> gone;  // released outside the lock
    {
        absl::MutexLock lock(&session_mutex_);
        gone = std::move(session_);
    }
    if (server_stopping_)
        Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down"));
    else
        Finish(grpc::Status::OK);
}

void control_reactor::stop(const std::string& reason) {
    server_stopping_ = true;
    if (auto s = session()) s->kick(reason);
}

grpc::ServerBidiReactor<v1::ClientMessage, v1::ServerMessage>* tunnel_service::Control(
    grpc::CallbackServerContext* ctx) {
    const auto ticket = gate_.open_stream(ctx->peer());
    if (!ticket) return new refused_reactor<v1::ClientMessage, v1::ServerMessage>();
    return new control_reactor(ctx, st_, *this, *ticket);
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* tunnel_service::Work(
    grpc::CallbackServerContext* ctx) {
    const auto ticket = gate_.open_stream(ctx->peer());
    if (!ticket) return new refused_reactor<grpc::ByteBuffer, grpc::ByteBuffer>();
    return make_work_reactor(ctx, st_, gate_, *ticket);
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* tunnel_service::Visit(
    grpc::CallbackServerContext* ctx) {
    const auto ticket = gate_.open_stream(ctx->peer());
    if (!ticket) return new refused_reactor<grpc::ByteBuffer, grpc::ByteBuffer>();
    return make_visit_reactor(ctx, st_, gate_, *ticket);
}

void tunnel_service::stop_sessions(const std::string& reason) {
    absl::MutexLock lock(&mutex_);
    for (auto* r : live_) r->stop(reason);
    // Each session finishes its stream on its own strand, after a write in
    // flight: wait for that (briefly), or gRPC's shutdown cancels the streams
    // first and the clients never hear why.
    mutex_.AwaitWithTimeout(absl::Condition(this, &tunnel_service::all_finishing),
                            absl::Seconds(1));
}

bool tunnel_service::all_finishing() const {
    return std::all_of(live_.begin(), live_.end(),
                       [](const control_reactor* r) { return r->finishing_; });
}

}  // namespace burrow
