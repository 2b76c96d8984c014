// The server's end of a Work or Visit stream: a gRPC carrier
// (common/grpc/carrier.hpp) under a pump, which reads the client's first
// frame within hello_timeout and hands it to the stream's own handler
// (work_reactor.cpp, visit_reactor.cpp). Included by those two files only.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <grpcpp/grpcpp.h>

#include "common/grpc/carrier.hpp"
#include "server/client_gate.hpp"
#include "server/server_state.hpp"

namespace burrow {

class server_stream_reactor final
    : public grpc_carrier<grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>> {
public:
    static constexpr auto hello_timeout = std::chrono::seconds(10);
    // Gets the pump and the first frame, serialized (a burrow.v1.Frame), on a
    // carrier thread; `grpc_peer` is gRPC's name of the client's connection.
    using head_handler = std::function<void(std::shared_ptr<stream::pump>,
                                            std::string serialized, const std::string& grpc_peer)>;

    server_stream_reactor(grpc::CallbackServerContext* ctx, server_state& st, client_gate& gate,
                          std::uint64_t ticket, head_handler on_head)
        : grpc_carrier(std::make_shared<stream::pump>(st.io.get_executor())),
          ctx_(ctx),
          gate_(gate),
          grpc_peer_(ctx->peer()),
          ticket_(ticket) {
        std::weak_ptr<stream::pump> weak = pump_;
        // An unauthenticated stream may not sit here forever.
        auto timer = std::make_shared<boost::asio::steady_timer>(pump_->get_executor(),
                                                                 hello_timeout);
        timer->async_wait([weak](const boost::system::error_code& ec) {
            if (auto p = weak.lock(); p && !ec) p->close("no hello in time");
        });
        pump_->read_head([on_head = std::move(on_head), peer = grpc_peer_, weak,
                          timer](std::string serialized) {
            timer->cancel();
            if (auto p = weak.lock()) on_head(std::move(p), std::move(serialized), peer);
        });
    }

    void cancel() override { ctx_->TryCancel(); }
    void finish(bool ok) override {
        Finish(ok ? grpc::Status::OK : grpc::Status(grpc::StatusCode::CANCELLED, "closed"));
    }

    // An idle stream has no read outstanding to fail: it learns here. A
    // stream handed over (a splice, a re-attach) learns of this from its
    // failed operations.
    void OnCancel() override { pump_->lost("stream cancelled", this); }
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

}  // namespace burrow
