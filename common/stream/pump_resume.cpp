// The pump's resumption: detaching when the carrier breaks, re-attaching a
// new one, and replaying what the peer has not got (DESIGN.md §1).
//
// Both ends of a session know how much of the other's stream they hold
// (ledger::received). A re-attach exchanges those numbers: each side drops
// from its replay ring what the other holds and sends the rest, then goes on
// with new bytes. Nothing is sent twice (the receiver's ledger rejects any
// frame that does not continue its stream exactly) and nothing is lost (the
// ring keeps every byte until the peer acknowledged it, or said it holds it).
#include <algorithm>

#include <fmt/format.h>

#include "common/log.hpp"
#include "common/stream/frame_codec.hpp"
#include "common/stream/pump.hpp"
#include "common/stream/pump_locked.hpp"

namespace burrow::stream {

namespace asio = boost::asio;

namespace {
spdlog::logger& work_log() {
    static spdlog::logger& l = log::get("work");
    return l;
}
}  // namespace

void pump::set_resumable(std::string_view secret, const void* owner,
                         std::chrono::milliseconds keep, std::weak_ptr<resume_listener> listener,
                         std::uint64_t id) {
    auto self = shared_from_this();
    locked lock(*this);
    std::fill(resume_secret_.begin(), resume_secret_.end(), 0);
    std::copy_n(secret.begin(), std::min(secret.size(), resume_secret_.size()),
                resume_secret_.begin());
    resume_owner_ = owner;
    resume_keep_ms_ = static_cast<std::uint32_t>(
        std::clamp<std::chrono::milliseconds::rep>(keep.count(), 1, UINT32_MAX));
    resume_listener_ = std::move(listener);
    resume_id_ = id;
}

bool pump::resume_owned_by(const void* owner) {
    auto self = shared_from_this();
    locked lock(*this);
    return resumable() && resume_owner_ == owner;
}

bool pump::resume_secret_is(std::string_view secret) {
    auto self = shared_from_this();
    locked lock(*this);
    if (!resumable() || secret.size() != resume_secret_.size()) return false;
    unsigned char diff = 0;  // constant time: no early exit on the first difference
    for (std::size_t i = 0; i < secret.size(); ++i)
        diff |= static_cast<unsigned char>(secret[i]) ^ resume_secret_[i];
    return diff == 0;
}

std::string pump::resume_secret() {
    auto self = shared_from_this();
    locked lock(*this);
    return {reinterpret_cast<const char*>(resume_secret_.data()), resume_secret_.size()};
}

pump::resume_point pump::received_so_far() {
    auto self = shared_from_this();
    locked lock(*this);
    return {ledger_.received(), ledger_.inbound_finished()};
}

// The carrier broke under a pumping session: a resumable one waits for a
// new carrier, any other ends.
void pump::broken(const std::string& why) {
    if (resumable() && !local_closed_ && mode_ == mode::pumping) return detach_locked(why);
    abort(why);
}

void pump::detach_locked(const std::string& why) {
    if (ended_ || detached_ || mode_ != mode::pumping || !carrier_) return;
    work_log().info("{} detached ({}): {} B sent, {} B of them not acknowledged", tag_, why,
                    ledger_.sent(), ledger_.unacked());
    detached_ = true;
    detached_flag_ = true;
    ready_.reset();  // its bytes are in the ledger
    control_.clear();
    auto* c = std::exchange(carrier_, nullptr);
    c->cancel();
    // What is outstanding on the old carrier completes later, named as the
    // old carrier's: a read is dropped (the peer replays it), and the next
    // carrier waits for it (it reads into in_); a write finishes the carrier
    // when it returns (never finished with one outstanding), which may be
    // much later on a dead connection: nobody waits for that.
    if (!resume_) resume_ = std::make_unique<resume_state>();
    old_reader_ = std::exchange(reading_, false) ? c : nullptr;
    writing_fin_ = false;
    write_failed_ = false;
    if (std::exchange(writing_, false))
        resume_->leaving.push_back(c);
    else
        c->finish(false);
    if (resumable()) {
        auto& r = *resume_;
        r.detached_at = std::chrono::steady_clock::now();
        r.replay_next = r.replay_end = 0;
        r.replay_fin = false;
        r.timer.emplace(get_executor(), std::chrono::milliseconds(resume_keep_ms_));
        r.timer->async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec) return;
            locked lock(*self);
            self->on_keep_expired();
        });
        // Told once the lock is released (the head slot is free while pumping).
        if (auto l = resume_listener_.lock()) {
            auto told = [l, id = resume_id_] { l->detached(id); };
            if (head_due_)
                head_due_ = [first = std::move(head_due_), told]() mutable {
                    first();
                    told();
                };
            else
                head_due_ = std::move(told);
        }
    }
    local_may_refill();
}

void pump::on_keep_expired() {
    if (!detached_ || ended_) return;
    reset_locked(fmt::format("not resumed within {:.1f} s", resume_keep_ms_ / 1000.0));
}

void pump::lost(const std::string& why, const carrier* from) {
    auto self = shared_from_this();
    locked lock(*this);
    if (from && from != carrier_) return;
    if (mode_ == mode::pumping)
        broken(why);
    else
        abort("");
}

void pump::end_resumption(const std::string& why) {
    auto self = shared_from_this();
    locked lock(*this);
    if (resume_keep_ms_ == 0) return;
    resume_over_ = true;
    if (detached_) reset_locked(why);
}

void pump::reset(std::string reason) {
    auto self = shared_from_this();
    locked lock(*this);
    reset_locked(reason);
}

// A lost session ends with a reset, never with a FIN its application could
// take for a complete transfer.
void pump::reset_locked(const std::string& why) {
    if (ended_) return;
    boost::system::error_code ignored;
    if (socket_.is_open()) socket_.set_option(asio::socket_base::linger(true, 0), ignored);
    work_log().warn("{} reset: {}", tag_, why);
    end(false);
}

std::string pump::reattach(carrier* c, resume_point peer,
                           unique_function<std::string(resume_point)> answer) {
    auto self = shared_from_this();
    locked lock(*this);
    if (ended_ || !resumable()) return "no such session";
    if (mode_ != mode::pumping) return "the session has not started";
    if (auto err = check_resume_point(peer); !err.empty()) return err;
    if (!detached_) detach_locked("re-attached on a new stream");
    if (!resume_) return "no such session";  // (detach_locked made it)
    auto& r = *resume_;
    // An earlier attempt still waiting for the old carrier loses to this one.
    if (auto* earlier = std::exchange(r.waiting, c)) earlier->finish(false);
    r.peer = peer;
    r.answer = std::move(answer);
    attach_waiting();
    return {};
}

void pump::attach_waiting() {
    if (!resume_ || !resume_->waiting || old_reader_ || ended_) return;
    attach_now();
}

void pump::attach_now() {
    auto& r = *resume_;
    auto* c = std::exchange(r.waiting, nullptr);
    c->set_events(shared_from_this());
    carrier_ = c;
    detached_ = false;
    detached_flag_ = false;
    acks_stopped_ = false;
    r.timer.reset();
    ++r.resumptions;
    // Validated by reattach(); the ledger has not moved since (no carrier).
    if (!start_replay(r.peer)) return;
    const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - r.detached_at);
    work_log().info("{} resumed after {} ms: {} B to replay, {} B received so far", tag_,
                    gap.count(), r.replay_end - r.replay_next, ledger_.received());
    if (r.answer)
        write_control(frame::kind::head,
                      std::exchange(r.answer, {})({ledger_.received(), ledger_.inbound_finished()}));
    else
        after_write();  // starts the replay
    issue_read();
    finish_if_done();
}

std::string pump::check_resume_point(resume_point peer) const {
    if (peer.received < ledger_.acked() || peer.received > ledger_.sent())
        return fmt::format("resume point {} outside the {}..{} bytes sent", peer.received,
                           ledger_.acked(), ledger_.sent());
    if (peer.fin && !ledger_.outbound_finished()) return "resume point has a fin never sent";
    return {};
}

// The peer holds `peer` of what we sent: the ring lets go of that, and the
// rest goes again (the replay), fin too when the peer lacks it.
bool pump::start_replay(resume_point peer) {
    auto& r = *resume_;
    if (auto err = ledger_.acknowledged(peer.received); !err.empty()) {
        abort("resume: " + err);
        return false;
    }
    r.replay_next = peer.received;
    r.replay_end = ledger_.sent();
    r.replay_fin = ledger_.outbound_finished() && !peer.fin;
    up_done_ = ledger_.outbound_finished() && peer.fin;
    if (peer.fin) ledger_.peer_holds_fin();  // it delivers the fin on its own
    return true;
}

// The other end of a visit came back on a new stream of its own, holding
// `peer` of ours (the splice tells us, on the stream we keep): what we sent
// since then went nowhere. We answer with what we hold, then replay.
void pump::rewind(resume_point peer) {
    if (!resumable()) return abort("protocol error: second head");
    if (auto err = check_resume_point(peer); !err.empty()) return abort("rewind: " + err);
    if (!resume_) resume_ = std::make_unique<resume_state>();
    ready_.reset();         // its bytes are in the ledger: the replay sends them
    writing_fin_ = false;   // the write in flight went nowhere: it does not finish our stream
    acks_stopped_ = false;
    ++resume_->resumptions;
    if (!start_replay(peer)) return;
    work_log().info("{} rewound: the peer came back holding {} B; {} B to replay, {} B received",
                    tag_, peer.received, resume_->replay_end - resume_->replay_next,
                    ledger_.received());
    write_control(frame::kind::head,
                  frame_codec::encode_resume_head(
                      frame_codec::f_resumed, {ledger_.received(), ledger_.inbound_finished()}));
    issue_read();
}

bool pump::replaying() const noexcept {
    return resume_ && (resume_->replay_next < resume_->replay_end || resume_->replay_fin);
}

// The next frame of the replay: up to max_chunk bytes of the ring from
// replay_next, with fin once the replay reaches its end.
void pump::write_replay() {
    auto& r = *resume_;
    up_piece piece;
    piece.offset = r.replay_next;
    std::uint64_t at = ledger_.acked();
    for (const auto& c : ledger_.replay()) {
        const std::uint64_t end = at + c.size();
        if (end > r.replay_next) {
            const auto from = static_cast<std::size_t>(r.replay_next - at);
            if (piece.size > 0 && piece.size + c.size() - from > max_chunk) break;
            piece.data.push_back(from == 0 ? c : c.sub(from, c.size()));
            piece.size += c.size() - from;
            r.replay_next = end;
        }
        at = end;
        if (at >= r.replay_end) break;
    }
    if (r.replay_fin && r.replay_next >= r.replay_end) {
        piece.fin = true;
        r.replay_fin = false;
    }
    write_piece(std::move(piece));
}

}  // namespace burrow::stream
