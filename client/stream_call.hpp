// One client-side Work or Visit call as the carrier of a pump (raw frames,
// common/grpc/carrier.hpp). It owns itself until gRPC is done with it. Once
// the first frame is on its way the call may end, and be deleted, at any
// moment: callers keep only its pump() from then on.
#pragma once

#include <atomic>
#include <memory>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include "client/call_census.hpp"
#include "client/control_session.hpp"
#include "common/grpc/carrier.hpp"

namespace burrow {

class stream_call final
    : public grpc_carrier<grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>> {
public:
    // Calls `method` ("/burrow.v1.Tunnel/Work"). An idle Work stream of
    // `pool` that ends before it was started (started()) is reported lost.
    stream_call(tracked_stub& stub, const char* method, boost::asio::any_io_executor ex,
                std::weak_ptr<control_session> pool = {})
        : grpc_carrier(std::make_shared<stream::pump>(std::move(ex))),
          census_(stub.census),
          open_streams_(stub.open_streams),
          pool_(std::move(pool)) {
        open_streams_->fetch_add(1, std::memory_order_relaxed);
        stub.stub.PrepareBidiStreamingCall(&ctx_, method, grpc::StubOptions(), this);
        census_.track(ctx_);
        AddHold();
        StartCall();
    }

    const std::shared_ptr<stream::pump>& pump() const { return pump_; }
    // From a head handler (it runs inside a reaction, while the call lives).
    void started() { started_ = true; }

    void cancel() override { ctx_.TryCancel(); }
    void finish(bool ok) override {
        if (!ok) ctx_.TryCancel();
        RemoveHold();
    }
    void OnDone(const grpc::Status&) override {
        if (!started_)
            if (auto s = pool_.lock()) s->on_work_lost();
        open_streams_->fetch_sub(1, std::memory_order_relaxed);
        census_.done();
        delete this;
    }

private:
    call_census::entry census_;  // first: outlives ctx_
    std::shared_ptr<std::atomic<std::size_t>> open_streams_;  // on our channel
    grpc::ClientContext ctx_;
    std::weak_ptr<control_session> pool_;
    std::atomic<bool> started_{false};
};

// Full names of the raw methods.
inline constexpr const char* work_method = "/burrow.v1.Tunnel/Work";
inline constexpr const char* visit_method = "/burrow.v1.Tunnel/Visit";

}  // namespace burrow
