#include "server/grpc/work_reactor.hpp"

#include <boost/asio/steady_timer.hpp>
#include <grpcpp/grpcpp.h>

#include "burrow.pb.h"
#include "common/grpc/carrier.hpp"
#include "server/client_gate.hpp"
#include "server/client_session.hpp"
#include "server/server_state.hpp"

namespace burrow {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr auto hello_timeout = 10s;

class work_reactor final
    : public grpc_carrier<grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>> {
public:
    work_reactor(grpc::CallbackServerContext* ctx, server_state& st, client_gate& gate,
                 std::uint64_t ticket)
        : grpc_carrier(std::make_shared<stream::pump>(st.io.get_executor())),
          ctx_(ctx),
          gate_(gate),
          grpc_peer_(ctx->peer()),
          ticket_(ticket) {
        std::weak_ptr<stream::pump> weak = pump_;
        // An unauthenticated stream may not sit here forever.
        auto timer = std::make_shared<asio::steady_timer>(pump_->get_executor(), hello_timeout);
        timer->async_wait([weak](const boost::system::error_code& ec) {
            if (auto p = weak.lock(); p && !ec) p->close("no hello in time");
        });
        pump_->read_head([&st, &gate, peer = grpc_peer_, weak, timer](std::string serialized) {
            timer->cancel();
            auto p = weak.lock();
            if (!p) return;
            v1::Frame head;
            if (!head.ParseFromString(serialized) || !head.has_hello())
                return p->close("protocol error: expected hello");
            auto session = st.find_run(head.hello().run_id());
            if (!session) return p->close("unknown run id");
            // A live run id is as good as a login (a client's streams may
            // reach the server on a connection of their own).
            gate.logged_in(peer);
            session->offer_work(std::move(p));
        });
    }

    void cancel() override { ctx_->TryCancel(); }
    void finish(bool ok) override {
        Finish(ok ? grpc::Status::OK : grpc::Status(grpc::StatusCode::CANCELLED, "closed"));
    }

    void OnCancel() override { pump_->close(""); }
    void OnDone() override {
        gate_.close_stream(grpc_peer_, ticket_);
        delete this;
    }

private:
    grpc::CallbackServerContext* ctx_;
    client_gate& gate_;
    const std::string grpc_peer_;
    const std::uint64_t ticket_;
};

}  // namespace

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* make_work_reactor(
    grpc::CallbackServerContext* ctx, server_state& st, client_gate& gate, std::uint64_t ticket) {
    return new work_reactor(ctx, st, gate, ticket);
}

}  // namespace burrow
