#include "common/io_threads.hpp"

#include <algorithm>

namespace burrow {

void io_threads::start() {
    heap_.start();
    const unsigned n = std::clamp(std::thread::hardware_concurrency(), 2u, 4u);
    for (unsigned i = 0; i < n; ++i) threads_.emplace_back([this] { io_.run(); });
}

void io_threads::stop() {
    guard_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
}

}  // namespace burrow
