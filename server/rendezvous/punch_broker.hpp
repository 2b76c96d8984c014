// Punch signalling on the server (DESIGN.md §6): a visitor's PunchRequest,
// proved like a visit, goes to the client serving the secret proxy as a
// PunchOffer; that client's PunchAnswer goes back to the visitor as a
// PunchStart, both carrying the other's candidates. The server only passes
// addresses on: the probes' key is derived from secret_key, which it never
// sees.
//
// Pending attempts are bounded per visitor and in all, and forgotten after
// `answer_timeout`. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <absl/base/thread_annotations.h>
#include <absl/synchronization/mutex.h>
#include <boost/asio/ip/address.hpp>

namespace burrow::v1 {
class PunchRequest;
class PunchAnswer;
}  // namespace burrow::v1

namespace burrow {

class client_session;
struct server_state;

class punch_broker {
public:
    using clock = std::chrono::steady_clock;
    static constexpr std::size_t max_pending_per_visitor = 8;
    static constexpr std::size_t max_pending = 4096;
    static constexpr std::chrono::seconds answer_timeout{10};

    explicit punch_broker(server_state& st) : st_(st) {}

    // From the Control stream of `visitor` (logged in), whose connection comes from `source`.
    void request(const std::shared_ptr<client_session>& visitor, const v1::PunchRequest& r,
                 const boost::asio::ip::address& source);
    // From the Control stream of `home`, whose connection comes from `source`.
    void answer(const std::shared_ptr<client_session>& home, const v1::PunchAnswer& a,
                const boost::asio::ip::address& source);

    // Counters for the log and the dashboard.
    std::uint64_t passed() const;
    std::uint64_t refused() const;

private:
    struct pending {
        std::weak_ptr<client_session> visitor;
        const client_session* home = nullptr;  // only compared
        std::uint64_t request_id = 0;
        std::string tag;  // "laptop -> ssh-secret (home)"
        clock::time_point at;
    };
    void expire(clock::time_point now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

    server_state& st_;
    mutable absl::Mutex mutex_;
    std::uint64_t next_id_ ABSL_GUARDED_BY(mutex_) = 1;
    std::map<std::uint64_t, pending> pending_ ABSL_GUARDED_BY(mutex_);
    std::uint64_t passed_ ABSL_GUARDED_BY(mutex_) = 0;
    std::uint64_t refused_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace burrow
