#include "common/stream/pump.hpp"

#include "common/stream/pump_locked.hpp"

#include <algorithm>

#include <boost/asio/steady_timer.hpp>

#include "common/log.hpp"
#include "common/net_util.hpp"
#include "common/stream/frame_codec.hpp"

namespace burrow::stream {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
spdlog::logger& work_log() {
    static spdlog::logger& l = log::get("work");
    return l;
}

thread_local bool reacting = false;

// Marks the thread as running a reaction, for as long as it lasts.
class reaction_scope {
public:
    reaction_scope() noexcept : outer_(std::exchange(reacting, true)) {}
    ~reaction_scope() { reacting = outer_; }
    reaction_scope(const reaction_scope&) = delete;
    reaction_scope& operator=(const reaction_scope&) = delete;

private:
    bool outer_;
};
}  // namespace

bool pump::in_reaction() noexcept { return reacting; }

pump::pump(executor ex, std::size_t replay_limit)
    : socket_(std::move(ex)),
      ledger_(replay_limit) {}

pump::~pump() = default;

// ---- carrier completions (the carrier's threads) ----

// No shared_from_this() in the reactions: gRPC calls OnDone (which drops the
// reactor's reference) only after every reaction has returned.
void pump::on_read_done(const carrier* from, bool ok) {
    reaction_scope reaction;  // outlives `lock`, whose release runs completions
    locked lock(*this);
    if (from != carrier_) {
        if (from == old_reader_) {
            old_reader_ = nullptr;
            in_.clear();  // a detached carrier's read: what it got is replayed
            attach_waiting();
        }
        return;
    }
    reading_ = false;
    if (ended_ || detached_) return;
    if (!ok) {
        if (mode_ != mode::pumping) return abort("");
        // Both fins crossed and ours acknowledged: the peer, done, finished
        // the stream (maybe before our fin's OnWriteDone, or before our
        // acknowledgement of its fin went out: it had that already).
        if (ledger_.inbound_finished() && sent_fin_ &&
            (ledger_.fin_acknowledged() || !resumable())) {
            peer_finished_ = true;
            return finish_if_done();
        }
        return broken(write_failed_ ? "stream write failed" : "stream closed by the peer");
    }
    handle_frame();
}

void pump::on_write_done(const carrier* from, bool ok) {
    reaction_scope reaction;
    locked lock(*this);
    if (from != carrier_) {
        // A detached carrier's last write: it may be finished now.
        if (resume_) std::erase_if(resume_->leaving, [from](carrier* c) {
            if (c != from) return false;
            c->finish(false);
            return true;
        });
        return;
    }
    writing_ = false;
    const bool fin_written = std::exchange(writing_fin_, false);
    if (end_pending_) {
        // Ending: flush a queued error frame first, then finish the carrier.
        if (ok && !control_.empty()) return write_next_control();
        end_pending_ = false;
        return finish_carrier(end_ok_);
    }
    if (ended_) return;
    if (hand_over_) {
        if (!ok) return abort("stream write failed");
        if (!control_.empty()) return write_next_control();
        return complete_hand_over();
    }
    if (!ok && up_done_) {
        // An ack-only frame after our fin: the peer finished the stream, as
        // it may once both fins crossed. What it sent still arrives.
        acks_stopped_ = true;
        return;
    }
    if (!ok) {
        // The stream ended under the write. gRPC may say so before the read
        // brings what the peer sent last: its error frame (the session ends
        // as it asked, no re-attach) or a failure (a break). The read decides.
        if (reading_) {
            write_failed_ = true;
            return;
        }
        return broken("stream write failed");
    }
    if (fin_written) {
        up_done_ = true;
        return finish_if_done();
    }
    after_write();
    finish_if_done();  // an acknowledgement of the peer's fin may have been the last thing owed
}

// ---- owner API ----

void pump::send_head(std::string serialized_head) {
    auto self = shared_from_this();
    locked lock(*this);
    if (!ended_) write_control(frame::kind::head, std::move(serialized_head));
}

void pump::read_head(head_handler on_head, unique_function<void(std::string)> on_refused) {
    auto self = shared_from_this();
    locked lock(*this);
    if (ended_) return;
    mode_ = mode::head;
    on_head_ = std::move(on_head);
    on_refused_ = std::move(on_refused);
    issue_read();
}

void pump::hand_over(unique_function<void(carrier*)> to) {
    auto self = shared_from_this();
    locked lock(*this);
    if (ended_ || mode_ != mode::idle || reading_ || !carrier_) {
        head_due_ = [to = std::move(to)]() mutable { to(nullptr); };
        return;
    }
    hand_over_ = std::move(to);
    if (!writing_ && control_.empty()) complete_hand_over();
}

// The writes before the hand-over are out: the carrier goes, the pump ends.
void pump::complete_hand_over() {
    auto* c = std::exchange(carrier_, nullptr);
    ended_ = true;
    ended_flag_ = true;
    if (on_end_) end_due_ = std::move(on_end_);
    head_due_ = [to = std::exchange(hand_over_, {}), c]() mutable { to(c); };
}

bool pump::start_local(std::string tag, bool quiet) {
    auto self = shared_from_this();
    locked lock(*this);
    if (ended_) return false;
    begin_pumping(local_kind::in_process, std::move(tag), quiet);
    issue_read();
    return true;
}

void pump::begin_pumping(local_kind local, std::string tag, bool quiet) {
    local_ = local;
    if (local == local_kind::in_process) extra_ = std::make_unique<in_process_end>();
    tag_ = std::move(tag);
    quiet_ = quiet;
    started_at_ = std::chrono::steady_clock::now();
    mode_ = mode::pumping;
}

void pump::fail(std::string reason) {
    auto self = shared_from_this();
    locked lock(*this);
    if (ended_) return;
    if (!carrier_) return end(false);
    write_control(frame::kind::error, std::move(reason));
    // The peer finishes the RPC when it sees the error; we end once it is written.
    ended_ = true;
    ended_flag_ = true;
    if (on_end_) end_due_ = std::move(on_end_);
    end_pending_ = true;
    end_ok_ = true;
    fail_local_ops(asio::error::connection_reset);
    close_socket();
}

void pump::close(std::string reason) {
    auto self = shared_from_this();
    locked lock(*this);
    abort(reason);
}

void pump::detach() {
    auto self = shared_from_this();
    locked lock(*this);
    detach_locked("detached by its owner");
}

// ---- stream -> local ----

// After fin the read stays outstanding too: it returns when the RPC ends, so a
// peer that goes away while we still send is noticed.
void pump::issue_read() {
    if (reading_ || ended_ || !carrier_ || down_.full() || throttled_[rate_limit::down]) return;
    reading_ = true;
    carrier_->read(&in_);
}

void pump::handle_frame() {
    auto& f = in_;
    if (f.type != frame::kind::data) return handle_control();
    if (mode_ != mode::pumping) return abort("protocol error: data before start");
    if (auto err = ledger_.accept(f.offset, f.size, f.fin); !err.empty())
        return abort("protocol error: " + err);
    if (auto err = ledger_.acknowledged(f.ack); !err.empty())
        return abort("protocol error: " + err);
    // Acknowledged bytes made room for a local end the replay bound held.
    local_may_refill();

    if (local_closed_) {
        // Bytes for an end that was closed reset the connection, as they
        // would for a closed socket; fin is what we wait for.
        if (f.size > 0) return abort("");
        if (f.fin) inbound_done();
        finish_if_done();
        return issue_read();
    }
    if (f.size == 0 && !f.fin) {  // an ack-only frame (maybe the one we wait for to end)
        finish_if_done();
        return issue_read();
    }
    // Moved into the slot it waits in (see down_queue), then pointed at.
    auto& chunk = down_.back_slot();
    chunk.fin = f.fin;
    chunk.size = f.size;
    chunk.data = std::move(f.data);
    f.clear();
    chunk.buffers.reserve(chunk.data.size());
    for (const auto& d : chunk.data) chunk.buffers.emplace_back(d.data(), d.size());
    down_.push();
    deliver();
    issue_read();  // read ahead while the local end drains
}

// A head or error frame, or one the carrier could not decode.
void pump::handle_control() {
    auto& f = in_;
    if (f.type == frame::kind::malformed) return abort("protocol error: " + f.text);
    if (mode_ == mode::head) {
        if (f.type == frame::kind::error && on_refused_) {
            head_due_ = [r = std::exchange(on_refused_, {}), text = std::move(f.text)]() mutable {
                r(std::move(text));
            };
            return abort("");
        }
        if (f.type != frame::kind::head) return abort("protocol error: first frame has no head");
        mode_ = mode::idle;
        head_due_ = [h = std::move(on_head_), text = std::move(f.text)]() mutable {
            h(std::move(text));
        };
        f.clear();
        return;
    }
    if (f.type == frame::kind::head) {
        const auto h = frame_codec::decode_resume_head(f.text);
        f.clear();
        if (!h || h->which != frame_codec::f_resume) return abort("protocol error: second head");
        return rewind(h->point);
    }
    peer_gone_ = true;  // it ended the session: nothing to tell it
    return abort("peer: " + f.text);
}

void pump::deliver() {
    if (local_ == local_kind::socket)
        write_socket_next();
    else
        deliver_local();
}

// ---- local -> stream ----

// Bytes taken from the local end: they get the next offset, and the ledger
// keeps them until the peer acknowledges them.
pump::up_piece pump::take_piece(pieces data, std::size_t n, bool fin) {
    up_piece piece;
    piece.offset = ledger_.sent();
    piece.fin = fin;
    piece.size = n;
    for (const auto& c : data) ledger_.sent(c);
    if (meter_) meter_->add_in(n);
    if (fin) ledger_.sent_fin();
    piece.data = std::move(data);
    return piece;
}

// The piece goes out now, or waits as the next one (callers check room_for_piece()).
void pump::send_piece(up_piece piece) {
    if (detached_) return;  // the ledger keeps its bytes for the replay
    if (writing_ || !control_.empty() || replaying()) {
        ready_ = std::move(piece);
        return;
    }
    write_piece(std::move(piece));
}

void pump::write_piece(up_piece piece) {
    frame out;
    out.offset = piece.offset;
    out.ack = ledger_.take_ack();
    out.fin = piece.fin;
    out.size = piece.size;
    out.data = std::move(piece.data);
    writing_fin_ = piece.fin;
    writing_ = true;
    carrier_->write(out);
}

// The carrier took a frame: send the next one, and let the local end refill.
void pump::after_write() {
    if (!control_.empty()) return write_next_control();
    if (replaying()) {
        write_replay();
    } else if (ready_) {
        auto next = std::move(*ready_);
        ready_.reset();
        write_piece(std::move(next));
    }
    ack_if_due();
    local_may_refill();
}

// Room for another piece (a write completed, or the peer acknowledged
// bytes): the socket is read again, a waiting in-process writer completes.
void pump::local_may_refill() {
    if (mode_ != mode::pumping || !room_for_piece()) return;
    if (local_ == local_kind::socket) return read_socket();
    if (auto& local = *in_process(); local.held) {
        auto next = std::move(*local.held);
        local.held.reset();
        const auto n = next.size;
        send_piece(std::move(next));
        local.write_due = {std::move(local.write), {}, n};
    }
}

void pump::write_control(frame::kind type, std::string text) {
    if (!carrier_) return;
    auto& f = control_.emplace_back();
    f.type = type;
    f.text = std::move(text);
    if (!writing_) write_next_control();
}

void pump::write_next_control() {
    const frame out = std::move(control_.front());
    control_.erase(control_.begin());
    writing_ = true;
    carrier_->write(out);
}

// ---- acknowledgements ----

// Acknowledgements ride on data frames. With nothing going the other way, an
// ack-only frame goes at once when many bytes wait for one (ledger::ack_every),
// and the registry's sweep sends the rest of them (flush_ack).
void pump::ack_if_due() {
    if (ledger_.ack_due()) send_ack_alone();
}

void pump::send_ack_alone() {
    if (ended_ || acks_stopped_ || mode_ != mode::pumping || !ledger_.ack_pending() ||
        !writer_idle())  // also false while detached
        return;
    write_piece({ledger_.sent(), 0, {}, false});
}

void pump::flush_ack() {
    auto self = shared_from_this();
    locked lock(*this);
    send_ack_alone();
}

// ---- ending ----

// The peer's stream reached our local end, fin included: the next
// acknowledgement says so (ledger::delivered_fin), and goes at once.
void pump::inbound_done() {
    down_done_ = true;
    ledger_.delivered_fin();
}

void pump::finish_if_done() {
    // Both fins crossed. A detached session may not have got its last bytes
    // through: it waits for a re-attach to tell. A resumable one also waits
    // until the peer acknowledged our fin (so a cut now is resumed: we still
    // have what the peer may lack) and our acknowledgement of its fin is out
    // (the peer waits for it too), unless the peer finished the stream.
    if (!up_done_ || !down_done_ || ended_ || detached_) return;
    const bool acknowledged =
        peer_finished_ || ((ledger_.fin_acknowledged() || !resumable()) &&
                           (!ledger_.ack_pending() || acks_stopped_));
    if (acknowledged) end(true);
}

// A reset or broken pipe is how TCP connections often end (iperf3, browsers):
// worth a debug line, not an "aborted" one among real failures.
void pump::socket_error(const char* what, const error_code& ec) {
    if (ended_) return;
    if (is_expected_error(ec)) {
        work_log().debug("{} {}: {}", tag_, what, ec.message());
        return end(false);
    }
    abort(fmt::format("{}: {}", what, ec.message()));
}

void pump::abort(const std::string& reason) {
    if (ended_) return;
    if (!reason.empty() && mode_ == mode::pumping)
        work_log().info("{} aborted: {}", tag_, reason);
    else if (!reason.empty())
        work_log().debug("idle work stream ended: {}", reason);
    end(false);
}

void pump::end(bool ok) {
    if (!ended_ && mode_ == mode::pumping) {
        auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at_);
        work_log().log(quiet_ ? spdlog::level::debug : spdlog::level::info,
                       "{} closed: in {} B, out {} B, {:.2f} s, replay peak {} B", tag_,
                       ledger_.sent(), ledger_.delivered(), secs.count(), ledger_.peak_held());
    }
    ended_ = true;
    ended_flag_ = true;
    if (on_end_) end_due_ = std::move(on_end_);
    if (hand_over_) head_due_ = [to = std::exchange(hand_over_, {})]() mutable { to(nullptr); };
    control_.clear();
    ready_.reset();
    if (in_process()) in_process()->held.reset();
    if (throttling()) stop_throttle();
    ledger_.drop_replay();  // nobody will ask for a replay
    if (resume_) {
        if (auto* waiting = std::exchange(resume_->waiting, nullptr)) waiting->finish(false);
        if (resume_->timer) resume_->timer->cancel();
    }
    fail_local_ops(local_closed_ ? asio::error::operation_aborted
                                 : asio::error::connection_reset);
    close_socket();
    // A resumable peer takes a stream that just stops for a transport break
    // (and waits for a re-attach): one that ends for a reason of its own
    // says so first, after the write in flight, and leaves the stream to the
    // peer to finish (a cancel could overtake the frame). A write that never
    // returns (the peer reads nothing) is cancelled after a while.
    if (!ok && carrier_ && resume_keep_ms_ > 0 && !peer_gone_ && mode_ == mode::pumping) {
        end_pending_ = true;
        end_ok_ = true;
        write_control(frame::kind::error, "session reset");
        auto stuck = std::make_shared<asio::steady_timer>(get_executor(), std::chrono::seconds(5));
        stuck->async_wait([self = shared_from_this(), stuck](const error_code& ec) {
            locked lock(*self);
            if (!ec && self->end_pending_ && self->carrier_) self->carrier_->cancel();
        });
        return;
    }
    // A carrier is not finished with a write outstanding: wait for it,
    // cancelling on an abort so that a stuck write returns.
    if (writing_) {
        end_pending_ = true;
        end_ok_ = ok;
        if (!ok && carrier_) carrier_->cancel();
        return;
    }
    finish_carrier(ok);
}

void pump::finish_carrier(bool ok) {
    if (auto* c = std::exchange(carrier_, nullptr)) c->finish(ok);
}

void pump::on_end(unique_function<void()> f) {
    auto self = shared_from_this();
    locked lock(*this);
    auto& slot = ended_ ? end_due_ : on_end_;
    if (slot)
        slot = [first = std::move(slot), then = std::move(f)]() mutable {
            first();
            then();
        };
    else
        slot = std::move(f);
}

void pump::set_peer(std::string peer) {
    auto self = shared_from_this();
    locked lock(*this);
    peer_ = std::move(peer);
}

void pump::set_meter(std::shared_ptr<meter> m) {
    auto self = shared_from_this();
    locked lock(*this);
    meter_ = std::move(m);
}

pump::snapshot pump::describe() {
    auto self = shared_from_this();
    locked lock(*this);
    snapshot s;
    s.tag = tag_;
    s.peer = peer_;
    s.pumping = mode_ == mode::pumping && !ended_;
    if (s.pumping)
        s.age_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at_).count();
    s.counts = {ledger_.sent(), ledger_.acked(), ledger_.received(), ledger_.delivered(),
                ledger_.unacked(), resume_ ? resume_->resumptions : 0u};
    s.detached = detached_;
    s.quiet = quiet_;
    s.path = carrier_ ? carrier_->path() : std::string_view("detached");
    return s;
}

pump::totals pump::counts() {
    auto self = shared_from_this();
    locked lock(*this);
    return {ledger_.sent(), ledger_.acked(), ledger_.received(), ledger_.delivered(),
            ledger_.unacked(), resume_ ? resume_->resumptions : 0u};
}

}  // namespace burrow::stream
