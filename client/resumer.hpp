// Re-attaches this client's sessions after a transport break (DESIGN.md §1).
//
// A session whose Work stream broke is detached: its local socket stays open
// and its pump keeps what the server has not acknowledged. Once the client is
// logged in again (or at once, when only that stream broke) the resumer opens
// a Work stream whose first frame is a Resume (session id, the secret the
// server's start gave, what we hold of the server's stream); the server
// answers with what it holds, and both pumps replay the rest. A refusal (the
// server restarted, or gave the session up) resets the local socket.
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "common/stream/pump.hpp"

namespace burrow {

namespace stream {
class registry;
}  // namespace stream
struct tracked_stub;

class resumer : public std::enable_shared_from_this<resumer>, public stream::resume_listener {
public:
    // `stub` gives the stub on the client's channel now (a fresh channel
    // replaces one whose connection went stale).
    resumer(boost::asio::any_io_executor ex,
            std::function<std::shared_ptr<tracked_stub>()> stub, stream::registry& sessions);

    // Makes the session `id` resumable with the server's `secret`; it is
    // kept detached a little beyond the server's `resume_timeout` (the
    // server's refusal is what normally ends it).
    void make_resumable(const std::shared_ptr<stream::pump>& p, std::uint64_t id,
                        const std::string& secret, std::chrono::seconds resume_timeout);
    // Logged in as run `run_id`: every detached session is re-attached.
    void logged_in(std::string run_id);
    void logged_out();

    // A session detached: re-attached at once while logged in, else at the next login.
    void detached(std::uint64_t id) override;

private:
    void attempt(std::uint64_t id, std::shared_ptr<stream::pump> p, const std::string& run_id);
    void attempt_over(std::uint64_t id, bool retry);

    boost::asio::any_io_executor ex_;
    std::function<std::shared_ptr<tracked_stub>()> stub_;
    stream::registry& sessions_;
    std::mutex mutex_;
    std::string run_id_;               // "" while not logged in
    std::set<std::uint64_t> trying_;   // sessions with a Resume under way
};

}  // namespace burrow
