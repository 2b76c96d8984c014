#include "server/work_pool.hpp"

#include "burrow.pb.h"
#include "common/auth.hpp"
#include "common/log.hpp"
#include "common/protocol_limits.hpp"
#include "common/stream/pump.hpp"
#include "common/stream/registry.hpp"
#include "server/live.hpp"

namespace burrow {

using namespace std::chrono_literals;

namespace {
constexpr std::size_t max_idle_work = 256;
constexpr auto surplus_grace = 5s;
// Connections wait and no stream came for this long: the streams asked for
// are written off (their client could not open them) and asked for again.
constexpr auto ask_patience = 2s;

spdlog::logger& proxy_log() {
    static spdlog::logger& l = log::get("proxy");
    return l;
}
spdlog::logger& ctl_log() {
    static spdlog::logger& l = log::get("control");
    return l;
}
}  // namespace

work_pool::work_pool(std::function<void(std::uint32_t)> ask, std::function<void()> settled,
                     stream::registry& sessions)
    : ask_(std::move(ask)), settled_(std::move(settled)), sessions_(sessions) {}

work_pool::~work_pool() = default;

work_pool::local_end work_pool::socket_end(stream_socket socket, std::string already_read) {
    return [socket = std::make_shared<stream_socket>(std::move(socket)),
            first = std::move(already_read)](std::shared_ptr<stream::pump> pump,
                                             const std::string& tag) {
        // Without a stream, the socket closes as it goes.
        return !pump || pump->start(*socket, tag, first);
    };
}

void work_pool::add(request r) {
    r.since = clock::now();
    if (closed_) return drop(r);
    proxy_log().log(r.quiet ? spdlog::level::debug : spdlog::level::info, "[{}/{}] open from {}",
                    r.proxy, r.conn_id, r.peer);
    pair(std::move(r));
}

bool work_pool::offer(std::shared_ptr<stream::pump> work, bool asked) {
    if (closed_) {
        work->close("session closed");
        return false;
    }
    last_progress_ = clock::now();
    if (asked && requested_ > 0) --requested_;
    if (!waiting_.empty()) {
        auto r = std::move(waiting_.front());
        waiting_.pop_front();
        idle_.push_front(std::move(work));
        pair(std::move(r));
        return true;
    }
    drop_ended();
    if (idle_.size() >= max_idle_work) {
        work->close("too many idle work streams");
        return false;
    }
    // No read is kept outstanding while idle: the stream's cancellation tells
    // of a lost one, and a splice can take the carrier over (pump::hand_over).
    idle_.push_back(std::move(work));
    return true;
}

void work_pool::pair(request r) {
    while (!idle_.empty()) {
        auto work = std::move(idle_.front());
        idle_.pop_front();
        if (work->ended()) continue;

        v1::Frame head;
        auto* start = head.mutable_start();
        start->set_proxy(r.proxy);
        start->set_conn_id(r.conn_id);
        start->set_peer(r.peer);
        if (!r.splice_secret.empty()) {
            start->set_session_secret(r.splice_secret);
        } else if (r.resumable && keep_.count() > 0) {
            // The secret is the client's alone: a guessed session id re-attaches nothing.
            auto secret = auth::random_bytes(stream::pump::secret_size);
            start->set_session_secret(secret);
            work->set_resumable(secret, owner_, keep_);
        }
        if (!r.resume_direct.empty()) start->mutable_resume_direct()->ParseFromString(r.resume_direct);
        start->set_move_secret(r.move_secret);
        work->send_head(head.SerializeAsString());
        if (r.listing) work->set_meter(r.listing->meter());
        // A stream that died meanwhile leaves the connection alone: try the next one.
        if (!r.end(work, fmt::format("[{}/{}]", r.proxy, r.conn_id))) continue;
        if (r.resumable) sessions_.add(r.conn_id, work);  // a visit's is the splice's
        if (r.listing)
            r.listing->set_closer([w = std::weak_ptr(work)](const std::string& why) {
                if (auto p = w.lock()) p->reset(why);
            });
        if (r.listing || r.admission)
            work->on_end([listing = std::move(r.listing), admission = std::move(r.admission)]() mutable {
                listing.reset();
                admission.reset();
            });
        refill();
        return settled_();
    }
    if (closed_) return drop(r);
    waiting_.push_back(std::move(r));
    refill();
}

// pool_count idle streams and one for each waiting connection, counting
// those asked for and not yet here.
void work_pool::refill() {
    drop_ended();
    const auto want = target_ + waiting_.size();
    const auto have = idle_.size() + requested_;
    if (have < want) ask(static_cast<std::uint32_t>(want - have));
}

void work_pool::ask(std::uint32_t count) {
    requested_ += count;
    last_progress_ = clock::now();
    for (std::uint32_t n = 0; n < count; n += protocol::max_new_work)
        ask_(std::min(count - n, protocol::max_new_work));
}

void work_pool::drop_ended() {
    std::erase_if(idle_, [](const auto& w) { return w->ended(); });
}

// A connection that gets no stream: its end is told, then it is settled.
void work_pool::drop(request& r) {
    if (r.end) r.end(nullptr, {});
    r.end = {};
    settled_();
}

void work_pool::tick(clock::time_point now, std::chrono::seconds work_timeout,
                     const std::string& who) {
    trim(now, who);
    if (!away_ && !waiting_.empty() && requested_ > 0 && now - last_progress_ > ask_patience) {
        ctl_log().info("client {}: {} work streams asked for did not come; asking again", who,
                       requested_);
        requested_ = 0;
        refill();
    }
    while (!waiting_.empty() && now - waiting_.front().since > work_timeout) {
        auto& r = waiting_.front();
        proxy_log().warn("[{}/{}] no work stream from client {} within {} s; closing", r.proxy,
                         r.conn_id, who, work_timeout.count());
        if (r.listing)
            r.listing->failed(fmt::format("no work stream from the client within {} s",
                                          work_timeout.count()));
        auto dropped = std::move(r);
        waiting_.pop_front();
        drop(dropped);
    }
}

// A burst of user connections makes the client open streams beyond its pool;
// once the burst is over for a while, the surplus is closed (the client counts
// them as lost and keeps its pool_count).
void work_pool::trim(clock::time_point now, const std::string& who) {
    drop_ended();
    if (!waiting_.empty() || idle_.size() <= target_) {
        surplus_since_ = {};
        return;
    }
    if (surplus_since_ == clock::time_point{}) {
        surplus_since_ = now;
        return;
    }
    if (now - surplus_since_ < surplus_grace) return;
    ctl_log().info("client {}: closing {} surplus idle work streams (pool_count {})", who,
                   idle_.size() - target_, target_);
    while (idle_.size() > target_) {
        idle_.front()->close("");
        idle_.pop_front();
    }
    surplus_since_ = {};
}

void work_pool::close_idle(const std::string& reason) {
    away_ = true;
    for (auto& w : idle_) w->close(reason);
    idle_.clear();
}

// The client opens pool_count streams of its own on login.
void work_pool::resumed() {
    away_ = false;
    requested_ = 0;
    if (!waiting_.empty()) ask(static_cast<std::uint32_t>(waiting_.size()));
}

void work_pool::close_all(const std::string& reason) {
    if (closed_) return;
    closed_ = true;
    for (auto& w : idle_) w->close(reason);
    idle_.clear();
    auto waiting = std::move(waiting_);
    waiting_.clear();
    for (auto& r : waiting) drop(r);
}

}  // namespace burrow
