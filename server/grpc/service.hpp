// gRPC adapters of the server: the Tunnel service and its two reactors.
// They are thin: every reaction is handed to a session or a pump.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include <absl/base/thread_annotations.h>
#include <absl/synchronization/mutex.h>

#include "burrow.grpc.pb.h"

namespace burrow {

struct server_state;
class client_session;
class client_gate;
class tunnel_service;

class control_reactor final
    : public grpc::ServerBidiReactor<v1::ClientMessage, v1::ServerMessage> {
public:
    // `ticket` is the gate's for this stream (client_gate::open_stream).
    control_reactor(grpc::CallbackServerContext* ctx, server_state& st, tunnel_service& service,
                    std::uint64_t ticket);

    void OnReadDone(bool ok) override;
    void OnWriteDone(bool ok) override;
    void OnCancel() override;
    void OnDone() override;

    // Makes outstanding operations complete (with ok = false).
    void cancel() { ctx_->TryCancel(); }
    // The session's login succeeded: the connection is no longer bounded as
    // one that has not logged in.
    void logged_in();
    // Ends the RPC; the client learns why when the server is stopping. The
    // session hears nothing more of this stream.
    void finish();
    // The client resumed the run of `s` on this stream (client_session.hpp):
    // its reactions go there from now on.
    void hand_to(std::shared_ptr<client_session> s);
    // The session moved on to a newer stream: this one ends by itself, once
    // the write outstanding, if any, returns; `keep` is what that write and
    // any read outstanding use.
    void abandon(bool write_outstanding, std::shared_ptr<void> keep);
    // The server is stopping: the session ends and tells the client so.
    void stop(const std::string& reason);

private:
    friend class tunnel_service;  // reads finishing_ under its mutex

    grpc::CallbackServerContext* ctx_;
    tunnel_service& service_;
    const std::string grpc_peer_;
    const std::uint64_t ticket_;
    std::atomic<bool> server_stopping_{false};
    bool finishing_ = false;  // finish() was called; guarded by the service's mutex_
    std::shared_ptr<client_session> session();
    absl::Mutex session_mutex_;
    std::shared_ptr<client_session> session_ ABSL_GUARDED_BY(session_mutex_);
    bool finish_after_write_ ABSL_GUARDED_BY(session_mutex_) = false;
    std::shared_ptr<void> keep_ ABSL_GUARDED_BY(session_mutex_);
};

// Work and Visit are raw methods: their frames stay serialized ByteBuffers
// (frame_codec.hpp).
class tunnel_service final
    : public v1::Tunnel::WithCallbackMethod_Control<v1::Tunnel::WithRawCallbackMethod_Work<
          v1::Tunnel::WithRawCallbackMethod_Visit<v1::Tunnel::Service>>> {
public:
    tunnel_service(server_state& st, client_gate& gate) : st_(st), gate_(gate) {}

    grpc::ServerBidiReactor<v1::ClientMessage, v1::ServerMessage>* Control(
        grpc::CallbackServerContext* ctx) override;
    grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Work(
        grpc::CallbackServerContext* ctx) override;
    grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Visit(
        grpc::CallbackServerContext* ctx) override;

    // Ends every Control stream, telling its client `reason` (server stop).
    void stop_sessions(const std::string& reason);

private:
    friend class control_reactor;

    server_state& st_;
    client_gate& gate_;
    absl::Mutex mutex_;
    std::set<control_reactor*> live_ ABSL_GUARDED_BY(mutex_);  // until their OnDone
    bool all_finishing() const ABSL_SHARED_LOCKS_REQUIRED(mutex_);
};

}  // namespace burrow
