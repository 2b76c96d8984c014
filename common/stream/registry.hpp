// registry: a process's sessions by id. It owns them: a session stays here
// from the moment its pump starts until the pump ends, whatever happens to
// the carrier under it; the next issue keeps a detached session here until a
// new carrier re-attaches it, and the dashboard lists sessions from here.
// Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include <absl/base/thread_annotations.h>
#include <absl/synchronization/mutex.h>

namespace burrow::stream {

class pump;

class registry {
public:
    registry() = default;
    registry(const registry&) = delete;
    registry& operator=(const registry&) = delete;

    // Keeps `p` as session `id` until it ends (then it removes itself). A
    // pump that has ended already is not kept. False when `id` is taken.
    bool add(std::uint64_t id, const std::shared_ptr<pump>& p);
    std::shared_ptr<pump> find(std::uint64_t id) const;
    std::size_t size() const;
    // The sessions now, for listing (the dashboard, tests).
    std::vector<std::shared_ptr<pump>> all() const;

private:
    void remove(std::uint64_t id, const pump* p);

    mutable absl::Mutex mutex_;
    std::unordered_map<std::uint64_t, std::shared_ptr<pump>> sessions_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace burrow::stream
