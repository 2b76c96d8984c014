#include "common/stream/splice.hpp"

#include <utility>

namespace burrow::stream {

namespace {
const char* name_of(splice::side_index i) {
    return i == splice::visitor ? "visitor" : "service";
}
}  // namespace

splice::splice(end_handler on_end) : on_end_(std::move(on_end)) {
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

splice::totals splice::counts() {
    std::lock_guard lock(mutex_);
    return totals_;
}

void splice::read_done(side_index i, bool ok) {
    locked_run([&] {
        auto& s = sides_[i];
        s.reading = false;
        if (ended_) return;
        if (!ok) {
            end(false, std::string(name_of(i)) + " stream closed");
            return;
        }
        const auto& f = s.in;
        if (f.type == frame::kind::malformed) {
            end(false, std::string("protocol error from the ") + name_of(i) + ": " + f.text);
            return;
        }
        if (f.type == frame::kind::head) {
            end(false, std::string("protocol error from the ") + name_of(i) + ": a second head");
            return;
        }
        if (f.type == frame::kind::data) {
            if (s.fin_in && (f.size > 0 || f.fin)) {
                end(false, std::string("protocol error from the ") + name_of(i) +
                               ": data after fin");
                return;
            }
            s.fin_in = s.fin_in || f.fin;
            (i == visitor ? totals_.to_service : totals_.to_visitor) += f.size;
        }
        pass(i);
    });
}

void splice::write_done(side_index j, bool ok) {
    locked_run([&] {
        auto& d = sides_[j];
        d.writing = false;
        if (ended_) {
            finish_idle_sides();
            return;
        }
        if (!ok) {
            end(false, std::string(name_of(j)) + " stream write failed");
            return;
        }
        if (d.error_out) {
            // The peer's reason is out; it finishes its side on reading it.
            end(false, std::string(name_of(other(j))) + " ended the session with an error");
            return;
        }
        auto& from = sides_[other(j)];
        if (from.held) {
            from.held = false;
            pass(other(j));
        }
        const auto& v = sides_[visitor];
        const auto& sv = sides_[service];
        if (v.fin_out && sv.fin_out && !v.writing && !sv.writing) end(true, {});
    });
}

void splice::start_read(side_index i) {
    auto& s = sides_[i];
    if (s.reading || s.held || ended_ || !s.c) return;
    s.reading = true;
    s.c->read(&s.in);
}

// Sends what side `from` read to the other side, or holds it until that
// side's write completes; then reads on (after fin too: acknowledgements
// may follow, and a read that fails tells of a side gone).
void splice::pass(side_index from) {
    auto& s = sides_[from];
    auto& d = sides_[other(from)];
    if (d.writing) {
        s.held = true;
        return;
    }
    d.writing = true;
    d.fin_out = d.fin_out || (s.in.type == frame::kind::data && s.in.fin);
    d.error_out = s.in.type == frame::kind::error;
    d.c->write(s.in);  // takes what it needs of the frame
    s.in.clear();
    if (!d.error_out) start_read(from);
}

void splice::end(bool ok, std::string why) {
    if (ended_) return;
    ended_ = true;
    ok_ = ok;
    for (auto& s : sides_)
        if (s.c && !s.finished && !ok && !s.error_out) s.c->cancel();
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

}  // namespace burrow::stream
