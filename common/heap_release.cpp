#include "common/heap_release.hpp"

#include <malloc.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/log.hpp"

namespace burrow {
namespace {

std::chrono::nanoseconds process_cpu_time() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

std::size_t resident_bytes() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long size = 0, resident = 0;
    const bool ok = std::fscanf(f, "%lu %lu", &size, &resident) == 2;
    std::fclose(f);
    return ok ? resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE)) : 0;
}

std::mutex caches_mutex;
std::vector<void (*)()> caches;  // guarded by caches_mutex

void empty_caches() {
    std::vector<void (*)()> now;
    {
        std::lock_guard lock(caches_mutex);
        now = caches;
    }
    for (auto* empty : now) empty();
}

}  // namespace

void on_quiet(void (*empty_cache)()) {
    std::lock_guard lock(caches_mutex);
    caches.push_back(empty_cache);
}

std::size_t release_free_heap() {
    const std::size_t before = resident_bytes();
    malloc_trim(0);
    const std::size_t after = resident_bytes();
    return before > after ? before - after : 0;
}

std::size_t heap_in_use() {
    const struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

struct heap_release::ticker {
    explicit ticker(boost::asio::io_context& io) : timer(io) {}

    void arm() {
        timer.expires_after(tick);
        timer.async_wait([this](boost::system::error_code ec) {
            if (ec) return;
            const auto now = process_cpu_time();
            const bool release = policy.tick(now - last_cpu);
            if (release) {
                empty_caches();
                if (const std::size_t freed = release_free_heap(); freed >= (1u << 20))
                    log::get("main").debug("returned {} MiB of freed heap to the system",
                                           freed >> 20);
            }
            // The trim's own CPU time is not the next tick's traffic.
            last_cpu = release ? process_cpu_time() : now;
            arm();
        });
    }

    boost::asio::steady_timer timer;
    quiet_after_busy policy{quiet_below};
    std::chrono::nanoseconds last_cpu{};
};

heap_release::heap_release(boost::asio::io_context& io) : ticker_(std::make_unique<ticker>(io)) {}
heap_release::~heap_release() = default;

void heap_release::start() {
    ticker_->last_cpu = process_cpu_time();
    ticker_->arm();
}

}  // namespace burrow
