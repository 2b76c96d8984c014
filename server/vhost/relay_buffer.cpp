#include "server/vhost/relay_buffer.hpp"

#include <mutex>
#include <vector>

#include "common/heap_release.hpp"

namespace burrow::vhost {

namespace {
constexpr std::size_t max_pooled = 256;  // 16 MiB at most
std::mutex pool_mutex;
std::vector<std::unique_ptr<char[]>> pool;  // guarded by pool_mutex

// Once the server goes quiet the pool is emptied (heap_release.hpp).
void empty_pool() {
    std::vector<std::unique_ptr<char[]>> gone;
    std::lock_guard lock(pool_mutex);
    gone.swap(pool);
}
}  // namespace

relay_buffer::relay_buffer() {
    static const bool registered = (on_quiet(&empty_pool), true);
    (void)registered;
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
