// A gRPC bidi reactor (server or client side) as the carrier of a pump:
// frames travel as serialized ByteBuffers (frame_buffer.hpp). gRPC runs
// reactions on its own callback threads, never inside a Start* call, which
// is the carrier contract (stream/carrier.hpp). Included only by the files
// that define the Work reactors.
#pragma once

#include <memory>
#include <utility>

#include <grpcpp/support/byte_buffer.h>

#include "common/grpc/frame_buffer.hpp"
#include "common/stream/carrier.hpp"
#include "common/stream/pump.hpp"

namespace burrow {

template <class Reactor>
class grpc_carrier : public Reactor, public stream::carrier {
public:
    void read(stream::frame* into) override {
        into_ = into;
        this->StartRead(&in_);
    }
    void write(const stream::frame& f) override {
        grpc_frames::encode(f, out_);
        this->StartWrite(&out_);
    }

    // No shared_from_this() in the reactions: gRPC calls OnDone (which drops
    // our reference to the pump) only after every reaction has returned.
    void OnReadDone(bool ok) override {
        if (ok) grpc_frames::decode(in_, *into_);
        pump_->on_read_done(ok);
    }
    void OnWriteDone(bool ok) override {
        out_.Clear();  // the pump's ledger keeps what it needs
        pump_->on_write_done(ok);
    }

protected:
    explicit grpc_carrier(std::shared_ptr<stream::pump> pump) : pump_(std::move(pump)) {
        pump_->attach(this);
    }
    ~grpc_carrier() = default;

    std::shared_ptr<stream::pump> pump_;

private:
    grpc::ByteBuffer in_, out_;
    stream::frame* into_ = nullptr;
};

}  // namespace burrow
