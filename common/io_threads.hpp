// The io_context a program runs and the threads that run it, set up the same
// way in burrow-server and burrow-client: 2 to 4 threads (one per core), kept
// busy by a work guard until stop(), and the check that hands freed heap back
// to the system once the process goes quiet (heap_release.hpp).
#pragma once

#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "common/heap_release.hpp"

namespace burrow {

class io_threads {
public:
    io_threads() = default;
    ~io_threads() { stop(); }
    io_threads(const io_threads&) = delete;
    io_threads& operator=(const io_threads&) = delete;

    boost::asio::io_context& io() noexcept { return io_; }
    void start();
    bool running() const noexcept { return !threads_.empty(); }
    // Lets the threads finish what is queued, stops and joins them. Idempotent.
    void stop();

private:
    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{
        io_.get_executor()};
    heap_release heap_{io_};
    std::vector<std::thread> threads_;
};

}  // namespace burrow
