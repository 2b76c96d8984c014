#include "server/vhost/upstream_pool.hpp"

#include <vector>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/stream/pump.hpp"
#include "server/client_session.hpp"

namespace burrow::vhost {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t max_idle_per_proxy = 64;
constexpr auto max_idle_time = 30s;

// Not closed by the service (or the tunnel) nor sent stray bytes on.
bool fit(const std::shared_ptr<stream::pump>& b) { return b->local_reusable(); }

void close_all(std::vector<std::shared_ptr<stream::pump>>& closing) {
    for (auto& b : closing) b->close_local();
}

// Asks `owner` for a Work stream to `proxy` with an in-process end (the
// pump started with start_local); completes with that pump, or nullptr when
// none can be had. Logged at debug level: the requests are what matters.
template <class Token>
auto async_connect_local(client_session& owner, std::string proxy, std::string peer,
                         Token&& token) {
    return asio::async_initiate<Token, void(std::shared_ptr<stream::pump>)>(
        [&owner](auto handler, std::string name, std::string from) {
            auto ex = asio::prefer(asio::get_associated_executor(handler),
                                   asio::execution::outstanding_work.tracked);
            // A local_end may be tried on several streams: the handler is shared.
            auto h = std::make_shared<decltype(handler)>(std::move(handler));
            owner.connect(
                std::move(name), std::move(from),
                [h, ex = std::move(ex)](std::shared_ptr<stream::pump> p, const std::string& tag) {
                    if (p && !p->start_local(tag, true)) return false;
                    // Posted: inline, it would run nested in the session's strand.
                    asio::post(ex, [h, p = std::move(p)]() mutable { std::move(*h)(std::move(p)); });
                    return true;
                },
                true);
        },
        token, std::move(proxy), std::move(peer));
}

}  // namespace

upstream_pool::upstream_pool() : idle_(max_idle_per_proxy, max_idle_time) {}

asio::awaitable<std::shared_ptr<stream::pump>> upstream_pool::obtain(const key& k,
                                                                    client_session& owner,
                                                                    const std::string& peer) {
    if (auto bridge = take(k)) co_return bridge;
    co_return co_await async_connect_local(owner, k.proxy, peer, asio::use_awaitable);
}

void upstream_pool::put(const key& k, std::shared_ptr<stream::pump> bridge) {
    std::shared_ptr<stream::pump> oldest;
    {
        absl::MutexLock lock(&mutex_);
        oldest = idle_.put(k, std::move(bridge), std::chrono::steady_clock::now());
    }
    if (oldest) oldest->close_local();
}

std::shared_ptr<stream::pump> upstream_pool::take(const key& k) {
    std::vector<std::shared_ptr<stream::pump>> closing;
    std::shared_ptr<stream::pump> found;
    {
        absl::MutexLock lock(&mutex_);
        found = idle_.take(k, std::chrono::steady_clock::now(), fit, closing);
    }
    close_all(closing);
    return found;
}

void upstream_pool::sweep() {
    std::vector<std::shared_ptr<stream::pump>> closing;
    {
        absl::MutexLock lock(&mutex_);
        idle_.sweep(std::chrono::steady_clock::now(), fit, closing);
    }
    close_all(closing);
}

}  // namespace burrow::vhost
