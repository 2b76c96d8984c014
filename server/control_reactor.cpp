#include "server/control_reactor.hpp"

#include <boost/asio/steady_timer.hpp>

#include "common/net_util.hpp"
#include "common/work_bridge.hpp"
#include "server/client_session.hpp"
#include "server/server_state.hpp"

namespace burrow {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr auto hello_timeout = 10s;

// A Work stream on the server: a frame_port over the RPC, the bridge does the rest.
class work_reactor final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
                           public frame_port {
public:
    work_reactor(grpc::CallbackServerContext* ctx, server_state& st)
        : ctx_(ctx), bridge_(std::make_shared<work_bridge>(st.io.get_executor())) {
        bridge_->attach(this);
        std::weak_ptr<work_bridge> weak = bridge_;
        // An unauthenticated stream may not sit here forever.
        auto timer = std::make_shared<asio::steady_timer>(bridge_->get_executor(), hello_timeout);
        timer->async_wait([weak](const boost::system::error_code& ec) {
            if (auto b = weak.lock(); b && !ec) b->close("no hello in time");
        });
        bridge_->read_head([&st, weak, timer](v1::Frame& head) {
            timer->cancel();
            auto b = weak.lock();
            if (!b) return;
            if (!head.has_hello()) return b->close("protocol error: expected hello");
            auto session = st.find_run(head.hello().run_id());
            if (!session) return b->close("unknown run id");
            session->offer_work(std::move(b));
        });
    }

    void read(grpc::ByteBuffer* f) override { StartRead(f); }
    void write(const grpc::ByteBuffer* f) override { StartWrite(f); }
    void cancel() override { ctx_->TryCancel(); }
    void end(bool ok) override {
        Finish(ok ? grpc::Status::OK : grpc::Status(grpc::StatusCode::CANCELLED, "closed"));
    }

    void OnReadDone(bool ok) override { bridge_->on_read_done(ok); }
    void OnWriteDone(bool ok) override { bridge_->on_write_done(ok); }
    void OnCancel() override { bridge_->close(""); }
    void OnDone() override { delete this; }

private:
    grpc::CallbackServerContext* ctx_;
    std::shared_ptr<work_bridge> bridge_;
};

}  // namespace

control_reactor::control_reactor(grpc::CallbackServerContext* ctx, server_state& st)
    : ctx_(ctx),
      session_(std::make_shared<client_session>(st, this, strip_grpc_peer(ctx->peer()))) {
    session_->start();
}

void control_reactor::OnReadDone(bool ok) { session_->on_read_done(ok); }
void control_reactor::OnWriteDone(bool ok) { session_->on_write_done(ok); }
void control_reactor::OnCancel() { session_->on_cancel(); }
void control_reactor::OnDone() { delete this; }

grpc::ServerBidiReactor<v1::ClientMessage, v1::ServerMessage>* tunnel_service::Control(
    grpc::CallbackServerContext* ctx) {
    return new control_reactor(ctx, st_);
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* tunnel_service::Work(
    grpc::CallbackServerContext* ctx) {
    return new work_reactor(ctx, st_);
}

}  // namespace burrow
