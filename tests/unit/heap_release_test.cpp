// Freed heap goes back to the system once the process goes quiet: the decision
// (once per busy-then-quiet), and that the release really shrinks the resident
// set under the allocator settings both programs run with.
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include "common/heap_release.hpp"
#include "common/program.hpp"

namespace burrow {
namespace {

using namespace std::chrono_literals;

TEST(quiet_after_busy, releases_once_on_the_first_quiet_tick_after_a_busy_one) {
    quiet_after_busy p(20ms);
    EXPECT_FALSE(p.tick(0ms));    // quiet from the start: nothing was freed since
    EXPECT_FALSE(p.tick(5ms));
    EXPECT_FALSE(p.tick(300ms));  // busy
    EXPECT_FALSE(p.tick(900ms));  // a steady transfer is never interrupted
    EXPECT_TRUE(p.tick(19ms));    // quiet again: release
    EXPECT_FALSE(p.tick(0ms));    // once per burst, not every quiet tick
    EXPECT_FALSE(p.tick(1ms));
    EXPECT_FALSE(p.tick(20ms));   // the bound itself counts as busy
    EXPECT_TRUE(p.tick(0ms));
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool glibc_malloc = false;
#else
constexpr bool glibc_malloc = true;
#endif

TEST(release_free_heap, hands_freed_pages_back) {
    if (!glibc_malloc) GTEST_SKIP() << "AddressSanitizer's allocator replaces glibc's";
    tune_process();  // keeps up to 256 MiB of freed heap: no trim of its own
    constexpr std::size_t block = 64 << 10, total = 96 << 20;
    {
        std::vector<std::unique_ptr<char[]>> blocks;
        for (std::size_t n = 0; n < total; n += block) {
            blocks.emplace_back(new char[block]);
            std::memset(blocks.back().get(), 1, block);  // resident, not just reserved
        }
    }  // all freed, and still resident
    EXPECT_GE(release_free_heap(), std::size_t{64} << 20);
    EXPECT_LT(release_free_heap(), std::size_t{1} << 20);  // nothing much left to give
}

std::atomic<int> emptied{0};

// The real check on a real clock: a busy second (this thread spins), then a
// quiet one, and the registered cache is emptied, once.
TEST(heap_release, empties_registered_caches_after_a_busy_then_quiet_second) {
    on_quiet([] { ++emptied; });
    boost::asio::io_context io;
    auto guard = boost::asio::make_work_guard(io);
    heap_release release(io);
    release.start();
    std::thread runner([&] { io.run(); });
    const auto spin_until = std::chrono::steady_clock::now() + 1500ms;
    for (volatile unsigned x = 0; std::chrono::steady_clock::now() < spin_until;) x = x + 1;
    EXPECT_EQ(emptied.load(), 0);  // busy: not yet
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (emptied.load() == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(50ms);
    EXPECT_EQ(emptied.load(), 1);
    std::this_thread::sleep_for(2500ms);  // quiet ticks after it
    EXPECT_EQ(emptied.load(), 1);
    io.stop();
    runner.join();
}

}  // namespace
}  // namespace burrow
