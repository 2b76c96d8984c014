#include "client/resumer.hpp"

#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "burrow.pb.h"
#include "client/stream_call.hpp"
#include "common/host_names.hpp"
#include "common/stream/pump.hpp"
#include "common/stream/registry.hpp"

namespace burrow {

namespace asio = boost::asio;

namespace {
// After a Resume that got no answer at all (its stream failed too), while
// logged in: the next try.
constexpr auto retry_after = std::chrono::seconds(1);
}  // namespace

resumer::resumer(asio::any_io_executor ex,
                 std::function<std::shared_ptr<tracked_stub>()> stub,
                 stream::registry& sessions)
    : ex_(std::move(ex)), stub_(std::move(stub)), sessions_(sessions) {}

void resumer::make_resumable(const std::shared_ptr<stream::pump>& p, std::uint64_t id,
                             const std::string& secret, std::chrono::seconds resume_timeout) {
    constexpr auto margin = std::chrono::seconds(15);
    p->set_resumable(secret, nullptr, resume_timeout + margin, weak_from_this(), id);
}

void resumer::logged_in(std::string run_id) {
    {
        std::lock_guard lock(mutex_);
        run_id_ = std::move(run_id);
    }
    // Only the sessions made resumable here (owner nullptr): one on a
    // direct path waits for the next direct path (direct_session.hpp).
    for (auto& [id, p] : sessions_.entries())
        if (p->detached() && p->resume_owned_by(nullptr)) detached(id);
}

void resumer::logged_out() {
    std::lock_guard lock(mutex_);
    run_id_.clear();
}

void resumer::detached(std::uint64_t id) {
    std::string run_id;
    {
        std::lock_guard lock(mutex_);
        // Not logged in: the next login re-attaches it.
        if (run_id_.empty() || !trying_.insert(id).second) return;
        run_id = run_id_;
    }
    auto p = sessions_.find(id);
    if (!p || !p->detached()) return attempt_over(id, false);
    attempt(id, std::move(p), run_id);
}

void resumer::attempt(std::uint64_t id, std::shared_ptr<stream::pump> session,
                      const std::string& run_id) {
    const auto mine = session->received_so_far();
    v1::Frame head;
    auto* r = head.mutable_resume();
    r->set_run_id(run_id);
    r->set_session_id(id);
    r->set_session_secret(session->resume_secret());
    r->set_received(mine.received);
    r->set_received_fin(mine.fin);

    struct outcome {
        std::atomic<bool> answered{false};
    };
    auto result = std::make_shared<outcome>();
    auto* call = new stream_call(*stub_(), work_method, ex_);
    auto pump = call->pump();  // `call` may be gone once the Resume is on its way
    std::weak_ptr<stream::pump> weak = pump;
    auto self = shared_from_this();
    pump->on_end([self, id, result] { self->attempt_over(id, !result->answered); });
    pump->read_head(
        [weak, session, result](std::string serialized) {
            auto p = weak.lock();
            if (!p) return;
            v1::Frame answer;
            if (!answer.ParseFromString(serialized) || !answer.has_resumed())
                return p->close("protocol error: expected resumed");
            result->answered = true;
            const stream::pump::resume_point theirs{answer.resumed().received(),
                                                    answer.resumed().received_fin()};
            p->hand_over([session, theirs](stream::carrier* c) {
                if (!c) return;
                if (auto err = session->reattach(c, theirs); !err.empty()) {
                    c->finish(false);
                    session->reset("re-attach failed: " + err);
                }
            });
        },
        [session, result](std::string why) {
            result->answered = true;
            session->reset(printable(why.substr(0, 200)));
        });
    pump->send_head(head.SerializeAsString());
}

// A Resume ended (re-attached, refused, or no answer): another one may go.
// With no answer, the session is tried again shortly while logged in.
void resumer::attempt_over(std::uint64_t id, bool retry) {
    {
        std::lock_guard lock(mutex_);
        trying_.erase(id);
    }
    if (!retry) return;
    auto timer = std::make_shared<asio::steady_timer>(ex_, retry_after);
    timer->async_wait([weak = weak_from_this(), id, timer](const boost::system::error_code& ec) {
        if (auto r = weak.lock(); r && !ec) r->detached(id);
    });
}

}  // namespace burrow
