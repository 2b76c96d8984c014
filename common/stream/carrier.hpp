// carrier: the transport under a session, one bidirectional stream of frames
// (a gRPC Work stream; later a QUIC stream on a punched path). The pump
// (pump.hpp) is its only user and knows nothing else of the transport.
//
// Contract, the same for every implementation:
//  - at most one read and one write outstanding;
//  - a call never completes inline: completions come later, from the
//    carrier's own threads, so a caller may hold its lock while calling (gRPC
//    runs reactions on its callback threads; a QUIC carrier must post what
//    ngtcp2 reports from inside ngtcp2_conn_read_pkt);
//  - cancel() makes outstanding operations complete (failed) soon;
//  - finish() is called exactly once, with no write outstanding; no call
//    follows it, and no completion either, except a read already outstanding;
//  - each completion names its carrier: a session that moved to a new
//    carrier tells the old one's late completions from the new one's.
#pragma once

#include <memory>
#include <string_view>

#include "common/stream/frame.hpp"

namespace burrow::stream {

class carrier {
public:
    // Where completions go; set before the first call.
    class events {
    public:
        // The read's frame is in `*into` (see read()); !ok: the carrier is gone.
        virtual void on_read_done(const carrier* from, bool ok) = 0;
        // The frame given to write() is sent (or, !ok, never will be).
        virtual void on_write_done(const carrier* from, bool ok) = 0;

    protected:
        virtual ~events() = default;
    };

    // Receives the next frame into `*into`, which stays the caller's and
    // must live until on_read_done.
    virtual void read(frame* into) = 0;
    // Sends `f`: the carrier takes what it needs (references to the payload
    // chunks) before it returns, so `f` is the caller's again at once.
    virtual void write(const frame& f) = 0;
    virtual void cancel() = 0;
    // Completions go to `e` from now on (a session's carrier handed to a
    // splice); it is kept alive until the carrier is done. Only with no
    // operation outstanding.
    virtual void set_events(std::shared_ptr<events> e) = 0;
    // Ends the stream: ok, both sides finished; !ok, abandoned (the peer
    // sees it reset).
    virtual void finish(bool ok) = 0;
    // What carries the session, for listings: "relay" (through the server)
    // or "p2p" (a direct path).
    virtual std::string_view path() const noexcept { return "relay"; }

protected:
    ~carrier() = default;
};

}  // namespace burrow::stream
