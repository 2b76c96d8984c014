#include "server/vhost/relay_buffer.hpp"

#include <mutex>
#include <vector>

namespace burrow::vhost {

namespace {
constexpr std::size_t max_pooled = 256;  // 16 MiB at most
std::mutex pool_mutex;
std::vector<std::unique_ptr<char[]>> pool;  // guarded by pool_mutex
}  // namespace

relay_buffer::relay_buffer() {
    std::lock_guard lock(pool_mutex);
    if (!pool.empty()) {
        data = std::move(pool.back());
        pool.pop_back();
    }
    if (!data) data.reset(new char[relay_chunk]);
}

relay_buffer::~relay_buffer() {
    std::lock_guard lock(pool_mutex);
    if (pool.size() < max_pooled) pool.push_back(std::move(data));
}

}  // namespace burrow::vhost
