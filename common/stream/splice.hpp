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
// Threads: as in the pump (docs/life_of_a_connection.md), one mutex guards
// the state and each completion is handled on the thread it arrives on; the
// carriers never complete inline, so they are called under the lock.
//
// Ends once: when both fins have passed (ok), when a side fails or sends
// something that is no data frame after its head, or on close(). Each
// carrier is finished exactly once, never with a write outstanding.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "common/stream/carrier.hpp"

namespace burrow::stream {

class splice : public std::enable_shared_from_this<splice> {
public:
    enum side_index : std::size_t { visitor = 0, service = 1 };
    struct totals {
        std::uint64_t to_service = 0, to_visitor = 0;  // data bytes passed each way
    };
    // Told once when the splice ends: ok (both fins passed), why not, the
    // totals and how long it ran since both sides came.
    using end_handler =
        std::function<void(bool ok, const std::string& why, const totals&, double seconds)>;

    explicit splice(end_handler on_end);
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

private:
    // Completions of one side's carrier, told to the splice with the side's index.
    struct side_events final : carrier::events {
        splice* owner = nullptr;
        side_index index = visitor;
        void on_read_done(bool ok) override { owner->read_done(index, ok); }
        void on_write_done(bool ok) override { owner->write_done(index, ok); }
    };
    struct side {
        carrier* c = nullptr;
        bool attached = false;  // attach() was called for it
        frame in;               // read from this side, to go to the other
        bool reading = false;   // a read is outstanding into `in`
        bool held = false;      // `in` waits for the other side's write
        bool writing = false;   // a write to this side is outstanding
        bool fin_in = false;    // this side's fin was read
        bool fin_out = false;   // the other side's fin was written here
        bool error_out = false; // the other side's error frame was written here
        bool finished = false;  // c->finish() was called
        side_events events;
    };

    template <class F>
    void locked_run(F&& f);
    void read_done(side_index i, bool ok);
    void write_done(side_index i, bool ok);
    void start_read(side_index i);
    void pass(side_index from);
    void end(bool ok, std::string why);
    void finish_idle_sides();
    static side_index other(side_index i) { return i == visitor ? service : visitor; }

    std::mutex mutex_;
    std::array<side, 2> sides_;
    bool started_ = false;
    bool ended_ = false;
    bool ok_ = false;
    totals totals_;
    end_handler on_end_;
    std::function<void()> end_due_;  // run once the lock is released
    std::chrono::steady_clock::time_point started_at_;
};

}  // namespace burrow::stream
