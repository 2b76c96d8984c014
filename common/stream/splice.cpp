#include "common/stream/splice.hpp"

#include <algorithm>
#include <utility>

#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "common/log.hpp"
#include "common/stream/frame_codec.hpp"

namespace burrow::stream {

namespace {
const char* name_of(splice::side_index i) {
    return i == splice::visitor ? "visitor" : "service";
}

spdlog::logger& visit_log() {
    static spdlog::logger& l = log::get("visit");
    return l;
}

bool same_secret(std::string_view a, std::string_view b) {
    if (a.size() != b.size() || a.empty()) return false;
    unsigned char diff = 0;  // constant time: no early exit on the first difference
    for (std::size_t i = 0; i < a.size(); ++i)
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}
}  // namespace

struct splice::resume_state {
    std::array<key, 2> keys;
    std::chrono::milliseconds keep{0};
    boost::asio::any_io_executor ex;
    // Per side, while it is away: the give-up, and since when.
    std::array<std::optional<boost::asio::steady_timer>, 2> timers;
    std::array<std::chrono::steady_clock::time_point, 2> away_since{};
};

splice::splice(std::string tag, end_handler on_end)
    : tag_(std::move(tag)), on_end_(std::move(on_end)) {
    for (auto i : {visitor, service}) {
        sides_[i].events.owner = this;
        sides_[i].events.index = i;
    }
}

splice::~splice() = default;

// Runs `f` under the lock, then what became due (the end handler) without it.
template <class F>
void splice::locked_run(F&& f) {
    std::function<void()> due;
    {
        std::lock_guard lock(mutex_);
        f();
        due = std::exchange(end_due_, nullptr);
    }
    if (due) due();
}

void splice::attach(side_index i, carrier* c) {
    // The carrier keeps the splice alive through its events until it is done.
    if (c) c->set_events(std::shared_ptr<carrier::events>(shared_from_this(), &sides_[i].events));
    locked_run([&] {
        auto& s = sides_[i];
        s.attached = true;
        s.c = c;
        if (ended_) {
            finish_idle_sides();
        } else if (!c) {
            end(false, std::string(name_of(i)) + " stream lost before the start");
        } else if (sides_[other(i)].attached && sides_[other(i)].c) {
            started_ = true;
            started_at_ = std::chrono::steady_clock::now();
            start_read(visitor);
            start_read(service);
        }
    });
}

void splice::close(const std::string& why) {
    locked_run([&] { end(false, why); });
}

void splice::set_meter(std::shared_ptr<meter> m) {
    std::lock_guard lock(mutex_);
    meter_ = std::move(m);
}

splice::totals splice::counts() {
    std::lock_guard lock(mutex_);
    return totals_;
}

void splice::read_done(side_index i, const carrier* from, bool ok) {
    locked_run([&] {
        auto& s = sides_[i];
        if (from != s.c) {
            if (from == s.old_reader) {
                s.old_reader = nullptr;
                s.in.clear();  // from a broken stream: its end replays it
                try_return(i);
            }
            return;
        }
        s.reading = false;
        if (ended_) return;
        if (!ok) return broke(i, s.write_failed ? "stream write failed" : "stream closed");
        auto& f = s.in;
        if (f.type == frame::kind::malformed)
            return end(false, std::string("protocol error from the ") + name_of(i) + ": " + f.text);
        if (f.type == frame::kind::head) {
            const auto h = frame_codec::decode_resume_head(f.text);
            if (!s.rewinding || !h || h->which != frame_codec::f_resumed)
                return end(false,
                           std::string("protocol error from the ") + name_of(i) + ": a second head");
            s.rewinding = false;
            std::string answer = std::move(f.text);
            f.clear();
            rewound(i, h->point, std::move(answer));
            return;
        }
        if (s.rewinding || !live(other(i))) {
            // Nobody to take it, or sent before this end rewound: dropped,
            // its end sends it again from what the other end holds. An
            // error frame ends the session all the same.
            if (f.type == frame::kind::error)
                return end(false, std::string(name_of(i)) + " ended the session: " + f.text);
            f.clear();
            return start_read(i);
        }
        if (f.type == frame::kind::data) {
            if (s.fin_in && (f.size > 0 || f.fin))
                return end(false,
                           std::string("protocol error from the ") + name_of(i) + ": data after fin");
            s.fin_in = s.fin_in || f.fin;
            auto& passed = i == visitor ? totals_.to_service : totals_.to_visitor;
            const auto before = passed;
            passed = std::max(passed, f.offset + f.size);
            if (meter_ && passed > before)
                i == visitor ? meter_->add_in(passed - before) : meter_->add_out(passed - before);
        }
        pass(i);
    });
}

void splice::write_done(side_index j, const carrier* from, bool ok) {
    locked_run([&] {
        auto& d = sides_[j];
        if (from != d.c) {
            // A broken stream's last write: it may be finished now.
            std::erase_if(d.leaving, [from](carrier* c) {
                if (c != from) return false;
                c->finish(false);
                return true;
            });
            return;
        }
        d.writing = false;
        if (ended_) return finish_idle_sides();
        if (!ok) {
            // The stream ended under the write. gRPC may say so before the
            // read brings what the end sent last: its error frame (passed
            // on: the session ends as it asked) or a failure (a break). The
            // read decides; frames for this side wait meanwhile.
            if (d.reading) {
                d.write_failed = true;
                return;
            }
            return broke(j, "stream write failed");
        }
        if (d.error_out) {
            // The peer's reason is out; it finishes its side on reading it.
            end(false, std::string(name_of(other(j))) + " ended the session with an error");
            return;
        }
        // A frame read before goes first (read before a rewind was asked
        // for, it is what the rewind's answer counts), then a head.
        auto& source = sides_[other(j)];
        if (source.held) {
            source.held = false;
            pass(other(j));
        } else if (!d.head_out.empty()) {
            write_head(j, std::exchange(d.head_out, {}));
        }
        maybe_done();
    });
}

void splice::maybe_done() {
    const auto& v = sides_[visitor];
    const auto& sv = sides_[service];
    // Both fins passed, and both acknowledgements of them: each end waits
    // for its own before it lets go (a cut before then is resumed).
    if (live(visitor) && live(service) && v.fin_out && sv.fin_out && v.fin_acked && sv.fin_acked &&
        !v.writing && !sv.writing && v.head_out.empty() && sv.head_out.empty())
        end(true, {});
}

void splice::start_read(side_index i) {
    auto& s = sides_[i];
    if (s.reading || s.held || ended_ || !live(i)) return;
    s.reading = true;
    s.c->read(&s.in);
}

// Sends what side `from` read to the other side, or holds it until that
// side's write completes; then reads on (after fin too: acknowledgements
// may follow, and a read that fails tells of a side gone).
void splice::pass(side_index from) {
    auto& s = sides_[from];
    auto& d = sides_[other(from)];
    if (!live(other(from))) {  // it broke meanwhile: the frame's end sends it again
        s.in.clear();
        return start_read(from);
    }
    if (d.writing || d.write_failed) {
        s.held = true;
        return;
    }
    d.writing = true;
    d.fin_out = d.fin_out || (s.in.type == frame::kind::data && s.in.fin);
    // One past the end of d's stream acknowledges its fin (ledger.hpp).
    const auto d_stream = from == visitor ? totals_.to_visitor : totals_.to_service;
    if (s.in.type == frame::kind::data && d.fin_in && s.in.ack == d_stream + 1) d.fin_acked = true;
    d.error_out = s.in.type == frame::kind::error;
    d.c->write(s.in);  // takes what it needs of the frame
    s.in.clear();
    if (!d.error_out) start_read(from);
}

void splice::end(bool ok, std::string why) {
    if (ended_) return;
    ended_ = true;
    ok_ = ok;
    for (auto& s : sides_) {
        if (s.c && !s.finished && !ok && !s.error_out) s.c->cancel();
        if (auto* b = std::exchange(s.back, nullptr)) b->finish(false);
    }
    if (resume_)
        for (auto& t : resume_->timers)
            if (t) t->cancel();
    finish_idle_sides();
    const auto secs = started_ ? std::chrono::duration<double>(
                                     std::chrono::steady_clock::now() - started_at_)
                                     .count()
                               : 0.0;
    end_due_ = [h = std::move(on_end_), ok, why = std::move(why), t = totals_, secs] {
        if (h) h(ok, why, t, secs);
    };
}

// After the end, each carrier is finished once its write is out. The side
// that got the other's error frame is finished as ok, so that the frame is
// read before the stream ends.
void splice::finish_idle_sides() {
    if (!ended_) return;
    for (auto& s : sides_) {
        if (!s.c || s.finished || s.writing) continue;
        s.finished = true;
        s.c->finish(ok_ || s.error_out);
    }
}

// ---- resumption ----

void splice::set_resumable(std::array<key, 2> keys, std::chrono::milliseconds keep,
                           boost::asio::any_io_executor ex) {
    std::lock_guard lock(mutex_);
    if (keep.count() <= 0) return;
    resume_ = std::make_unique<resume_state>();
    resume_->keys = std::move(keys);
    resume_->keep = keep;
    resume_->ex = std::move(ex);
}

std::optional<splice::side_index> splice::side_for(const void* owner, std::string_view secret) {
    std::lock_guard lock(mutex_);
    if (!resume_ || ended_) return {};
    std::optional<side_index> found;
    for (auto i : {visitor, service})  // both compared: no early exit either
        if (same_secret(secret, resume_->keys[i].secret) && resume_->keys[i].owner == owner)
            found = i;
    return found;
}

bool splice::involves(const void* owner) {
    std::lock_guard lock(mutex_);
    return resume_ && (resume_->keys[visitor].owner == owner || resume_->keys[service].owner == owner);
}

bool splice::moved(const void* owner) {
    bool done = false;
    locked_run([&] {
        if (ended_ || !resume_ ||
            (resume_->keys[visitor].owner != owner && resume_->keys[service].owner != owner))
            return;
        totals_.moved = done = true;
        end(false, "moved to a direct path");
    });
    return done;
}

// Side i's stream broke: a resumable session waits for it, any other ends.
void splice::broke(side_index i, const std::string& why) {
    auto& s = sides_[i];
    if (!resume_ || !started_ || s.error_out) return end(false, std::string(name_of(i)) + " " + why);
    if (s.away) return;
    auto& r = *resume_;
    visit_log().info("{} {} side away ({}); waiting {:.0f} s for it", tag_, name_of(i), why,
                     r.keep.count() / 1000.0);
    s.away = true;
    auto* c = std::exchange(s.c, nullptr);
    c->cancel();
    // Its operations still outstanding complete later, named as its own: the
    // next stream waits for its read only (a write may hang on a dead
    // connection for long); a write outstanding keeps it from being finished.
    s.old_reader = std::exchange(s.reading, false) ? c : nullptr;
    if (std::exchange(s.writing, false))
        s.leaving.push_back(c);
    else
        c->finish(false);
    s.head_out.clear();
    s.rewinding = false;
    s.write_failed = false;
    s.fin_out = false;  // known again when it comes back
    // Frames waiting for it are dropped: their end replays from what it holds.
    auto& o = sides_[other(i)];
    if (o.held) {
        o.held = false;
        o.in.clear();
        start_read(other(i));
    }
    r.away_since[i] = std::chrono::steady_clock::now();
    r.timers[i].emplace(r.ex, r.keep);
    r.timers[i]->async_wait([self = shared_from_this(), i](const boost::system::error_code& ec) {
        if (ec) return;
        self->locked_run([&] {
            if (!self->sides_[i].away || self->ended_) return;
            self->end(false, fmt::format("the {} did not come back within {:.0f} s", name_of(i),
                                         self->resume_->keep.count() / 1000.0));
        });
    });
}

std::string splice::reattach(side_index i, carrier* c, resume_point holds) {
    std::string err;
    locked_run([&] {
        if (ended_ || !resume_ || !started_) {
            err = "no such session";
            return;
        }
        auto& s = sides_[i];
        // The old stream has not been seen to break (a silent cut): the new
        // one, which proved the secret, replaces it.
        if (!s.away) broke(i, "came back on a new stream");
        if (auto* earlier = std::exchange(s.back, c)) earlier->finish(false);
        s.back_holds = holds;
        try_return(i);
    });
    return err;
}

// Side i is back and its old stream's operations are over: the other side
// is asked to rewind (its stream runs), or both are answered (it was away
// too and is back), or i waits for it.
void splice::try_return(side_index i) {
    auto& s = sides_[i];
    auto& o = sides_[other(i)];
    if (ended_ || !s.back || s.old_reader) return;
    if (live(other(i))) {
        if (o.rewinding && o.rewound_to.received == s.back_holds.received &&
            o.rewound_to.fin == s.back_holds.fin)
            return;  // asked already: its answer serves this stream too
        o.rewinding = true;
        o.rewound_to = s.back_holds;
        write_head(other(i), frame_codec::encode_resume_head(frame_codec::f_resume, s.back_holds));
        return;
    }
    if (o.away && o.back && !o.old_reader) {
        const auto mine = s.back_holds, theirs = o.back_holds;
        come_back(i, frame_codec::encode_resume_head(frame_codec::f_resumed, theirs), theirs);
        come_back(other(i), frame_codec::encode_resume_head(frame_codec::f_resumed, mine), mine);
    }
}

// Side j rewound: it holds `holds` of the other side's stream, and
// replays its own from the point it was given.
void splice::rewound(side_index j, resume_point holds, std::string answer) {
    const auto i = other(j);
    auto& s = sides_[i];
    if (!s.back) return start_read(j);  // it broke again: the next return asks anew
    if (s.back_holds.received != sides_[j].rewound_to.received ||
        s.back_holds.fin != sides_[j].rewound_to.fin) {
        // A later stream of it holds more than the one the rewind was for.
        start_read(j);
        return try_return(i);
    }
    come_back(i, std::move(answer), holds);
    start_read(j);
}

// Side i's new stream takes over: `answer` (a Resumed) goes first, then the
// other side's frames flow again; `other_holds` is what the other side
// holds of i's stream, from where i replays.
void splice::come_back(side_index i, std::string answer, resume_point other_holds) {
    auto& s = sides_[i];
    auto& o = sides_[other(i)];
    auto* c = std::exchange(s.back, nullptr);
    c->set_events(std::shared_ptr<carrier::events>(shared_from_this(), &s.events));
    s.c = c;
    s.away = false;
    s.finished = false;
    s.error_out = false;
    // Fins as the two resume points tell: each end replays its own.
    s.fin_in = other_holds.fin;
    o.fin_out = other_holds.fin;
    s.fin_out = s.back_holds.fin;
    o.fin_in = s.back_holds.fin;
    // A resume point with fin stands for the fin's acknowledgement (as in pump::start_replay).
    s.fin_acked = other_holds.fin;
    o.fin_acked = s.back_holds.fin;
    auto& r = *resume_;
    if (r.timers[i]) r.timers[i]->cancel();
    ++totals_.resumptions;
    const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - r.away_since[i]);
    visit_log().info("{} {} side back after {} ms: it holds {} B, the {} {} B", tag_, name_of(i),
                     gap.count(), s.back_holds.received, name_of(other(i)), other_holds.received);
    write_head(i, std::move(answer));
    start_read(i);
    start_read(other(i));
}

void splice::write_head(side_index i, std::string serialized) {
    auto& s = sides_[i];
    if (s.writing) {
        s.head_out = std::move(serialized);
        return;
    }
    frame f;
    f.type = frame::kind::head;
    f.text = std::move(serialized);
    s.writing = true;
    s.c->write(f);
}

}  // namespace burrow::stream
