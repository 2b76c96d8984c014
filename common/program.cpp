#include "common/program.hpp"

#include <malloc.h>
#include <sys/resource.h>

#include <absl/synchronization/mutex.h>

namespace burrow {

void tune_process() {
    // gRPC's large message buffers would otherwise be trimmed and re-faulted
    // for every message (DESIGN.md §5: +35% and more).
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);

    // Debian builds Abseil without NDEBUG, which leaves the deadlock detector
    // of absl::Mutex on: every lock and unlock inside gRPC then also updates
    // one process-wide graph under one global lock. It diagnoses bugs in
    // gRPC, not in Burrow, and costs every request.
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

    // One descriptor per proxied connection: allow as many as the hard limit does.
    if (rlimit lim{}; getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
}

std::size_t open_files_limit() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 1024;  // the usual default
    if (lim.rlim_cur == RLIM_INFINITY) return std::size_t{1} << 20;
    return static_cast<std::size_t>(lim.rlim_cur);
}

}  // namespace burrow
