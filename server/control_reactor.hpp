// gRPC adapters of the server: the Tunnel service and its two reactors.
// They are thin: every reaction is handed to a session or a work_bridge.
#pragma once

#include <memory>

#include "burrow.grpc.pb.h"

namespace burrow {

struct server_state;
class client_session;

class control_reactor final
    : public grpc::ServerBidiReactor<v1::ClientMessage, v1::ServerMessage> {
public:
    control_reactor(grpc::CallbackServerContext* ctx, server_state& st);

    void OnReadDone(bool ok) override;
    void OnWriteDone(bool ok) override;
    void OnCancel() override;
    void OnDone() override;

    // Makes outstanding operations complete (with ok = false).
    void cancel() { ctx_->TryCancel(); }

private:
    grpc::CallbackServerContext* ctx_;
    std::shared_ptr<client_session> session_;
};

// Work is a raw method: its frames stay serialized ByteBuffers (frame_codec.hpp).
class tunnel_service final
    : public v1::Tunnel::WithCallbackMethod_Control<
          v1::Tunnel::WithRawCallbackMethod_Work<v1::Tunnel::Service>> {
public:
    explicit tunnel_service(server_state& st) : st_(st) {}

    grpc::ServerBidiReactor<v1::ClientMessage, v1::ServerMessage>* Control(
        grpc::CallbackServerContext* ctx) override;
    grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Work(
        grpc::CallbackServerContext* ctx) override;

private:
    server_state& st_;
};

}  // namespace burrow
