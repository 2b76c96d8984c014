// registry: a process's sessions by id. It owns them: a session stays here
// from the moment its pump starts until the pump ends, whatever happens to
// the carrier under it; the next issue keeps a detached session here until a
// new carrier re-attaches it, and the dashboard lists sessions from here.
// Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include <absl/base/thread_annotations.h>
#include <absl/synchronization/mutex.h>
#include <boost/asio/any_io_executor.hpp>

namespace burrow::stream {

class pump;

class registry {
public:
    registry();
    ~registry();
    registry(const registry&) = delete;
    registry& operator=(const registry&) = delete;

    // Keeps `p` as session `id` until it ends (then it removes itself). A
    // pump that has ended already is not kept. False when `id` is taken.
    bool add(std::uint64_t id, const std::shared_ptr<pump>& p);
    std::shared_ptr<pump> find(std::uint64_t id) const;
    std::size_t size() const;
    // The sessions now, for listing (the dashboard, tests).
    std::vector<std::shared_ptr<pump>> all() const;
    // The same with their ids.
    std::vector<std::pair<std::uint64_t, std::shared_ptr<pump>>> entries() const;
    // Every `period`, each session sends the acknowledgement its peer still
    // waits for (pump::flush_ack), so that an idle session's peer lets go of
    // its replay bytes: one timer for the process rather than one per session.
    // Runs on `ex` until the registry goes or its io_context stops; the
    // registry must go before that io_context (its timer lives on it).
    void sweep_acks_every(boost::asio::any_io_executor ex, std::chrono::milliseconds period);

private:
    void remove(std::uint64_t id, const pump* p);
    void sweep_later();
    struct sweeper;
    std::unique_ptr<sweeper> sweeper_;

    mutable absl::Mutex mutex_;
    std::unordered_map<std::uint64_t, std::shared_ptr<pump>> sessions_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace burrow::stream
