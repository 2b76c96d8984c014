// call_census: the gRPC calls a client has open, so that stopping can end
// them all and wait until gRPC is done with each before the channels go.
//
// Why it matters: on this gRPC (1.51, Linux) callback reactions run on the
// threads of one process-wide completion queue, which lives while some
// channel holds it. A channel whose last reference drops inside a reaction
// (a finished call's context is the last holder) shuts that queue down from
// one of its own threads: a double free inside gRPC (seen under ASan when a
// client stopped while its Work streams were still ending). So the client's
// channels must be let go on its own thread, after every call on them is
// gone.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <set>
#include <utility>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/generic/generic_stub.h>

namespace burrow {

class call_census {
public:
    // A call's membership: the call's first member, so that it is destroyed
    // after the call's context (and with it the call's hold on the channel).
    class entry {
    public:
        explicit entry(std::shared_ptr<call_census> c) : census_(std::move(c)) {
            std::lock_guard lock(census_->mutex_);
            ++census_->alive_;
        }
        ~entry() {
            {
                std::lock_guard lock(census_->mutex_);
                census_->open_.erase(ctx_);
                --census_->alive_;
            }
            census_->changed_.notify_all();
        }
        entry(const entry&) = delete;
        entry& operator=(const entry&) = delete;

        // Once the call is started on `ctx`: cancel_all() reaches it (at
        // once, if that already happened).
        void track(grpc::ClientContext& ctx) {
            std::lock_guard lock(census_->mutex_);
            ctx_ = &ctx;
            if (census_->closing_) return ctx.TryCancel();
            census_->open_.insert(&ctx);
        }
        // From OnDone, before the context goes.
        void done() {
            std::lock_guard lock(census_->mutex_);
            census_->open_.erase(ctx_);
            ctx_ = nullptr;
        }

    private:
        std::shared_ptr<call_census> census_;
        grpc::ClientContext* ctx_ = nullptr;
    };

    // Cancels every call open now and every later one.
    void cancel_all() {
        std::lock_guard lock(mutex_);
        closing_ = true;
        for (auto* ctx : open_) ctx->TryCancel();
    }
    // Whether every call is gone (destroyed) within `timeout`.
    bool wait_until_empty(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [this] { return alive_ == 0; });
    }
    std::size_t alive() {
        std::lock_guard lock(mutex_);
        return alive_;
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::set<grpc::ClientContext*> open_;
    std::size_t alive_ = 0;
    bool closing_ = false;
};

// A raw-frame stub on one of the client's channels, with the census its
// calls join and the count of streams open on that channel (channel_pool.hpp
// picks the least loaded; a stream_call holds the count, never the channel).
struct tracked_stub {
    tracked_stub(std::shared_ptr<grpc::Channel> ch, std::shared_ptr<call_census> c)
        : channel(std::move(ch)), stub(channel), census(std::move(c)) {}
    std::shared_ptr<grpc::Channel> channel;
    grpc::GenericStub stub;
    std::shared_ptr<call_census> census;
    std::shared_ptr<std::atomic<std::size_t>> open_streams =
        std::make_shared<std::atomic<std::size_t>>(0);
};

}  // namespace burrow
