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
    // our references) only after every reaction has returned.
    // A pump handed the stream over (pump::hand_over): completions go to
    // `e` from now on. Only with no operation outstanding.
    void set_events(std::shared_ptr<stream::carrier::events> e) override {
        events_ = std::move(e);
    }

    void OnReadDone(bool ok) override {
        if (ok) grpc_frames::decode(in_, *into_);
        events_->on_read_done(this, ok);
    }
    void OnWriteDone(bool ok) override {
        out_.Clear();  // the pump's ledger keeps what it needs
        events_->on_write_done(this, ok);
    }

protected:
    explicit grpc_carrier(std::shared_ptr<stream::pump> pump)
        : pump_(std::move(pump)), events_(pump_) {
        pump_->attach(this);
    }
    ~grpc_carrier() = default;

    // The stream's pump, until the reactor is done (also after a hand-over).
    std::shared_ptr<stream::pump> pump_;

private:
    std::shared_ptr<stream::carrier::events> events_;  // the pump, or who took the stream over
    grpc::ByteBuffer in_, out_;
    stream::frame* into_ = nullptr;
};

}  // namespace burrow
