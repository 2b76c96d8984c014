#include "server/conn_limits.hpp"

#include <chrono>
#include <mutex>
#include <unordered_map>

#include <fmt/format.h>

#include "common/log.hpp"
#include "common/net_util.hpp"

namespace burrow {

struct conn_limits::core {
    std::mutex mutex;
    std::uint32_t per_source = 0, per_proxy = 0;
    std::unordered_map<std::string, std::uint32_t> sources, proxies;
    std::uint64_t on_proxies = 0;
    // Per limit (0: per source, 1: per proxy): refusals since the last line
    // logged about it, and when that was.
    std::uint64_t refused[2] = {0, 0};
    std::chrono::steady_clock::time_point logged[2]{};

    using count = std::pair<const std::string, std::uint32_t>;  // an entry of the maps

    void release(count* source, count* proxy) {
        std::lock_guard lock(mutex);
        drop(sources, *source);
        if (proxy) {
            drop(proxies, *proxy);
            --on_proxies;
        }
    }

    // (An entry is erased only at 0, so a ticket's pointers stay valid.)
    static void drop(std::unordered_map<std::string, std::uint32_t>& counts, count& c) {
        if (--c.second == 0) counts.erase(std::string(c.first));
    }
};

// A ticket: one small allocation per open connection.
struct conn_limits::held {
    held(std::shared_ptr<core> owner, core::count* from, core::count* on)
        : c(std::move(owner)), source(from), proxy(on) {}
    ~held() { c->release(source, proxy); }
    held(const held&) = delete;
    held& operator=(const held&) = delete;

    std::shared_ptr<core> c;
    core::count* source;
    core::count* proxy;  // nullptr: a vhost connection
};

namespace {
// Only the address: every port of one host counts as one source.
std::string key_of(const boost::asio::ip::address& a) {
    return a.is_v6() && a.to_v6().is_v4_mapped()
               ? to_string(boost::asio::ip::address(
                     boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6())))
               : to_string(a);
}
}  // namespace

conn_limits::conn_limits(std::uint32_t per_source, std::uint32_t per_proxy)
    : core_(std::make_shared<core>()) {
    set(per_source, per_proxy);
}

conn_limits::~conn_limits() = default;

void conn_limits::set(std::uint32_t per_source, std::uint32_t per_proxy) {
    std::lock_guard lock(core_->mutex);
    core_->per_source = per_source;
    core_->per_proxy = per_proxy;
}

conn_limits::ticket conn_limits::admit(const boost::asio::ip::address& source,
                                       std::string_view proxy, std::string& why) {
    auto source_key = key_of(source);
    std::string proxy_key(proxy);
    auto& c = *core_;
    std::unique_lock lock(c.mutex);
    const auto from_source = c.sources[source_key];
    const auto on_proxy = proxy_key.empty() ? 0 : c.proxies[proxy_key];
    int limit = 0;
    if (c.per_source && from_source >= c.per_source) {
        why = fmt::format("{} connections open from {} (max_connections_per_source)", from_source,
                          source_key);
    } else if (c.per_proxy && !proxy_key.empty() && on_proxy >= c.per_proxy) {
        limit = 1;
        why = fmt::format("{} connections open on proxy {} (max_connections_per_proxy)", on_proxy,
                          proxy_key);
    }
    if (!why.empty()) {
        // The counts looked up above may have made empty entries: leave none.
        if (from_source == 0) c.sources.erase(source_key);
        if (!proxy_key.empty() && on_proxy == 0) c.proxies.erase(proxy_key);
        ++c.refused[limit];
        const auto now = std::chrono::steady_clock::now();
        if (now - c.logged[limit] >= std::chrono::seconds(1)) {
            c.logged[limit] = now;
            const auto refused = std::exchange(c.refused[limit], 0);
            lock.unlock();
            log::get("proxy").warn("connection{} refused: {}{}", proxy_key.empty() ? "" : " to " + proxy_key,
                                   why,
                                   refused > 1 ? fmt::format(" ({} refused since the last such line)", refused)
                                               : "");
        }
        return nullptr;
    }
    auto* source_count = &*c.sources.find(source_key);
    ++source_count->second;
    core::count* proxy_count = nullptr;
    if (!proxy_key.empty()) {
        proxy_count = &*c.proxies.find(proxy_key);
        ++proxy_count->second;
        ++c.on_proxies;
    }
    return std::make_shared<held>(core_, source_count, proxy_count);
}

std::uint64_t conn_limits::open_on_proxies() const {
    std::lock_guard lock(core_->mutex);
    return core_->on_proxies;
}

std::uint32_t conn_limits::open_from(const boost::asio::ip::address& source) const {
    std::lock_guard lock(core_->mutex);
    auto it = core_->sources.find(key_of(source));
    return it == core_->sources.end() ? 0 : it->second;
}

}  // namespace burrow
