#include "server/vhost/upstream_link.hpp"

#include "server/vhost/upstream_pool.hpp"

namespace burrow::vhost {

bool upstream_link::usable_for(const std::string& proxy, const client_session* owner) {
    if (!is_open() || proxy_ != proxy || owner_ != owner) return false;
    if (buffer_.size() == 0 && stream_->reusable()) return true;
    close();
    return false;
}

boost::asio::awaitable<bool> upstream_link::open(const std::string& proxy, client_session& owner,
                                                 const std::string& peer) {
    release();
    proxy_ = proxy;
    owner_ = &owner;
    buffer_.clear();
    // Named, not a temporary of the co_await expression (GCC 12 destroys those twice).
    const upstream_pool::key key{proxy, &owner};
    auto pump = co_await pool_->obtain(key, owner, peer);
    if (!pump) co_return false;
    stream_.emplace(std::move(pump), strand_);
    co_return true;
}

void upstream_link::close() {
    boost::system::error_code ignored;
    if (stream_) stream_->close(ignored);
}

void upstream_link::release() {
    if (reusable_ && is_open() && buffer_.size() == 0)
        pool_->put({proxy_, owner_}, stream_->release());
    close();
    stream_.reset();
    reusable_ = false;
}

}  // namespace burrow::vhost
