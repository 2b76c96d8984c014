// Freed heap goes back to the system once the process has gone quiet.
//
// tune_process() lets glibc keep up to 256 MiB of freed heap, because trimming
// and re-faulting it for every large gRPC message costs a third of the
// throughput; and glibc keeps what a thread freed in that thread's arena in any
// case. So after a burst of traffic the RSS stayed at the burst's high-water
// mark while idle (measured: 5-10 MiB in use, 250-380 MiB resident). Once a
// second the io threads look at the process's CPU time; the first quiet second
// after a busy one hands free pages back (malloc_trim): in a 120 s soak,
// burrow-server's idle RSS went 202 MiB (peak) -> 140. What stays is the top
// of each thread's arena, which malloc_trim leaves alone; fewer arenas
// (M_ARENA_MAX 4) kept that to 52 MiB but cost up to 17 % of throughput with
// 8 streams, so it is not set. A steady transfer is never interrupted by the
// release; an idle process pays once per burst.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

// Included by the vhost and the status pages: no Asio headers here.
namespace boost::asio {
class io_context;
}

namespace burrow {

// The decision, apart from clocks: fed the CPU time each tick used, says when
// to release (the first quiet tick after a busy one).
class quiet_after_busy {
public:
    explicit quiet_after_busy(std::chrono::nanoseconds quiet_below) : quiet_below_(quiet_below) {}
    bool tick(std::chrono::nanoseconds cpu_used) {
        if (cpu_used >= quiet_below_) {
            busy_ = true;
            return false;
        }
        const bool release = busy_;
        busy_ = false;
        return release;
    }

private:
    std::chrono::nanoseconds quiet_below_;
    bool busy_ = false;  // a busy tick since the last release
};

// Hands free heap back to the system (malloc_trim: the main arena's top and
// the free chunks inside every arena; glibc keeps the other arenas' tops, see
// above). Returns by how many bytes the resident set shrank (0 when it did not).
std::size_t release_free_heap();

// Caches that keep freed buffers for reuse under load (the vhost's relay
// buffers) register a function that empties them: it runs on the first quiet
// tick after a busy one, before the trim. Buffers pooled there would otherwise
// stay in use and pin the top of their arenas. Thread-safe; never unregistered.
void on_quiet(void (*empty_cache)());

// Bytes the program holds from malloc (mallinfo2: in use in the arenas plus
// mmapped blocks): what a leak grows, unlike the resident set, which also
// holds what glibc keeps. Walks every arena: for status pages, not hot paths.
std::size_t heap_in_use();

// The once-a-second check, on the program's io_context. Its timer lives and
// dies with the io_context's threads (io_threads).
class heap_release {
public:
    static constexpr std::chrono::seconds tick{1};
    static constexpr std::chrono::milliseconds quiet_below{20};  // 2 % of one core

    explicit heap_release(boost::asio::io_context& io);
    ~heap_release();
    heap_release(const heap_release&) = delete;
    heap_release& operator=(const heap_release&) = delete;
    void start();

private:
    struct ticker;
    std::unique_ptr<ticker> ticker_;
};

}  // namespace burrow
