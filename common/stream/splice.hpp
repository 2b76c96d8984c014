// splice: one session passed through, frame by frame, between two carriers
// (on the server: a visitor's Visit stream and a Work stream of the client
// that serves the secret proxy). Offsets, acknowledgements, fin and error
// frames travel on unchanged: the session's two socket ends keep its
// bookkeeping (DESIGN.md §1), and the splice keeps no bytes beyond the frame
// in flight each way.
//
// Each direction is pipelined one frame deep: while a frame is written to
// one side, the next is read from the other; then reading stops until the
// write completes, so each transport's flow control holds its sender.
//
// Resumption (set_resumable): a side whose stream breaks is *away*; the
// other side's frames are dropped meanwhile (its end replays them). The
// away side comes back on a new stream (reattach) holding `p` of the other
// side's stream; then
//  - if the other side's stream still runs, it is sent a Resume{p} (a
//    rewind: pump::rewind) and its frames are dropped until its Resumed
//    arrives, which goes on to the returning side as the answer;
//  - if the other side is away too, once both are back each is answered with
//    what the other holds.
// Both ends then replay from there. A side away beyond `keep` ends the
// session (the other end's re-attach is refused, and it resets its socket).
//
// Threads: as in the pump (docs/life_of_a_connection.md), one mutex guards
// the state and each completion is handled on the thread it arrives on; the
// carriers never complete inline, so they are called under the lock.
//
// Ends once: when both fins have passed (ok), when a side fails (and the
// session is not resumable) or sends something that is no data frame after
// its head, or on close(). Each carrier is finished exactly once, never with
// a write outstanding.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "common/stream/carrier.hpp"
#include "common/stream/meter.hpp"

namespace burrow::stream {

class splice : public std::enable_shared_from_this<splice> {
public:
    enum side_index : std::size_t { visitor = 0, service = 1 };
    struct totals {
        std::uint64_t to_service = 0, to_visitor = 0;  // stream bytes passed each way
        unsigned resumptions = 0;                      // returns of either side
        bool moved = false;                            // ended by moved()
    };
    // Told once when the splice ends: ok (both fins passed), why not, the
    // totals and how long it ran since both sides came.
    using end_handler =
        std::function<void(bool ok, const std::string& why, const totals&, double seconds)>;

    // `tag` names the session in log lines ("[proxy/conn_id]").
    splice(std::string tag, end_handler on_end);
    ~splice();
    splice(const splice&) = delete;
    splice& operator=(const splice&) = delete;

    // Gives side `i` its carrier (idle: nothing outstanding), or nullptr when
    // that side could not be had; the splice starts once both have come, and
    // ends (closing the other) if one is nullptr.
    void attach(side_index i, carrier* c);
    // Ends at once; both carriers are abandoned (their peers see a reset).
    void close(const std::string& why);
    totals counts();
    // Counts the bytes passed into `m` too (in: toward the service), readable
    // while they flow.
    void set_meter(std::shared_ptr<meter> m);

    // ---- resumption ----
    // What side i presents to come back: its secret (16 bytes, handed to it
    // when the session opened) and the identity it comes from (the server's
    // run of its client).
    struct key {
        std::string secret;
        const void* owner = nullptr;
    };
    // Before attach(). A side away for `keep` ends the session; timers run on `ex`.
    void set_resumable(std::array<key, 2> keys, std::chrono::milliseconds keep,
                       boost::asio::any_io_executor ex);
    // The side `owner` may bring back with `secret` (compared in constant
    // time), or none.
    std::optional<side_index> side_for(const void* owner, std::string_view secret);
    // True when either side comes from `owner`.
    bool involves(const void* owner);
    // An end of the session, from `owner`, moved it onto a direct path: the
    // relay will not see it again, so the splice ends now (abandoning what
    // is left of its streams) instead of waiting for its sides to come
    // back. False (and nothing changes) when neither side comes from `owner`.
    bool moved(const void* owner);
    // Side `i` is back on `c` (idle), holding `holds` of the other side's
    // stream. Returns "" or why not; then `c` is not taken.
    std::string reattach(side_index i, carrier* c, resume_point holds);

private:
    // Completions of one side's carrier, told to the splice with the side's index.
    struct side_events final : carrier::events {
        splice* owner = nullptr;
        side_index index = visitor;
        void on_read_done(const carrier* from, bool ok) override {
            owner->read_done(index, from, ok);
        }
        void on_write_done(const carrier* from, bool ok) override {
            owner->write_done(index, from, ok);
        }
    };
    struct side {
        carrier* c = nullptr;
        bool attached = false;  // attach() was called for it
        frame in;               // read from this side, to go to the other
        bool reading = false;   // a read is outstanding into `in`
        bool held = false;      // `in` waits for the other side's write
        bool writing = false;   // a write to this side is outstanding
        bool write_failed = false;  // a write failed; the outstanding read tells why
        bool fin_in = false;    // this side's fin was read
        bool fin_out = false;   // the other side's fin was written here
        bool fin_acked = false; // this side was told its fin reached the other end's socket
        bool error_out = false; // the other side's error frame was written here
        bool finished = false;  // c->finish() was called
        // Resumption.
        bool away = false;              // its stream broke; no carrier
        // Broken streams still owing a completion: one whose read is
        // outstanding (it reads into `in`: a new stream waits for it), and
        // those whose write is (each finished when it returns).
        const carrier* old_reader = nullptr;
        std::vector<carrier*> leaving;
        carrier* back = nullptr;        // its new stream, not attached yet
        resume_point back_holds;        // what it holds of the other side's stream
        bool rewinding = false;         // asked to rewind: its frames are stale until Resumed
        resume_point rewound_to;        // the point it was asked to rewind to
        std::string head_out;           // a head frame waiting for this side's writer
        side_events events;
    };
    struct resume_state;

    template <class F>
    void locked_run(F&& f);
    void read_done(side_index i, const carrier* from, bool ok);
    void write_done(side_index j, const carrier* from, bool ok);
    void start_read(side_index i);
    void pass(side_index from);
    bool live(side_index i) const { return sides_[i].c && !sides_[i].away; }
    void end(bool ok, std::string why);
    void finish_idle_sides();
    void maybe_done();
    // Resumption (splice.cpp).
    void broke(side_index i, const std::string& why);
    void try_return(side_index i);
    void rewound(side_index j, resume_point holds, std::string answer);
    void come_back(side_index i, std::string answer, resume_point other_holds);
    void write_head(side_index i, std::string serialized);
    static side_index other(side_index i) { return i == visitor ? service : visitor; }

    std::mutex mutex_;
    const std::string tag_;
    std::array<side, 2> sides_;
    std::unique_ptr<resume_state> resume_;
    bool started_ = false;
    bool ended_ = false;
    bool ok_ = false;
    totals totals_;
    std::shared_ptr<meter> meter_;
    end_handler on_end_;
    std::function<void()> end_due_;  // run once the lock is released
    std::chrono::steady_clock::time_point started_at_;
};

}  // namespace burrow::stream
