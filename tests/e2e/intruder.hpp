// A client of the tests' own, on the real gRPC stack: it logs in with the
// shared token and then speaks the protocol as an intruder would (names
// sessions it does not own, makes up secrets).
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "burrow.grpc.pb.h"
#include "common/auth.hpp"
#include "tests/e2e/harness.hpp"

namespace burrow::e2e {

class intruder {
public:
    // Logs in to the server on `port` as `client_id`; ok() tells whether it could.
    intruder(std::uint16_t port, const std::string& client_id)
        : stub_(v1::Tunnel::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                        grpc::InsecureChannelCredentials()))),
          control_(stub_->Control(&control_ctx_)) {
        v1::ClientMessage msg;
        auto* login = msg.mutable_login();
        login->set_client_id(client_id);
        login->set_timestamp(auth::unix_now());
        login->set_nonce(auth::random_bytes(auth::nonce_size));
        login->set_proof(auth::make_proof(burrow_lab::token, client_id, login->timestamp(), login->nonce()));
        v1::ServerMessage answer;
        if (control_->Write(msg) && control_->Read(&answer)) result_ = answer.login_result();
    }
    ~intruder() { leave(); }
    // Sends `msg` on its Control stream.
    bool send(const v1::ClientMessage& msg) { return control_->Write(msg); }
    // Ends its Control stream (the server sees the run go).
    void leave() { control_ctx_.TryCancel(); }

    bool ok() const { return result_.ok(); }
    const v1::LoginResult& result() const { return result_; }
    v1::Tunnel::Stub& stub() { return *stub_; }

private:
    std::unique_ptr<v1::Tunnel::Stub> stub_;
    grpc::ClientContext control_ctx_;
    std::unique_ptr<grpc::ClientReaderWriter<v1::ClientMessage, v1::ServerMessage>> control_;
    v1::LoginResult result_;
};

}  // namespace burrow::e2e
