// An http connection's link to a proxy's service: at most one upstream (a
// stream::local_stream over a Work stream), the proxy and client session it
// goes to, and what the service sent that was not parsed yet. It is reused
// while requests go to the same proxy of the same session, and handed back
// to the pool, when its last exchange ended cleanly, once the user moves on.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "common/stream/local_stream.hpp"

namespace burrow {
class client_session;
}

namespace burrow::vhost {

class upstream_pool;

class upstream_link {
public:
    // Upstreams come from and go back to `pool`; they complete on `strand`.
    upstream_link(std::shared_ptr<upstream_pool> pool, boost::asio::any_io_executor strand)
        : pool_(std::move(pool)), strand_(std::move(strand)) {}
    ~upstream_link() { release(); }
    upstream_link(const upstream_link&) = delete;
    upstream_link& operator=(const upstream_link&) = delete;

    // True when the open upstream goes to `proxy` of `owner` and may take the
    // next request; one the service closed meanwhile (or that has stray
    // bytes) is closed instead.
    bool usable_for(const std::string& proxy, const client_session* owner);
    // Lets go of the current upstream and takes one to `proxy` of `owner`
    // (on behalf of `peer`, for the logs); false when none can be had.
    boost::asio::awaitable<bool> open(const std::string& proxy, client_session& owner,
                                      const std::string& peer);
    // Only closes: a pending operation may still refer to the stream, which
    // stays until open() or release() replaces it between exchanges.
    void close();
    // Between exchanges: back to the pool if the last exchange left it fit
    // (mark_reusable), else closed; the link is empty afterwards.
    void release();
    // Whether the exchange that just ended left the service ready for another.
    void mark_reusable(bool yes) { reusable_ = yes; }

    bool is_open() const { return stream_ && stream_->is_open(); }
    // Valid after a successful open(), until release().
    stream::local_stream& stream() { return *stream_; }
    boost::beast::flat_buffer& buffer() { return buffer_; }

private:
    std::shared_ptr<upstream_pool> pool_;
    boost::asio::any_io_executor strand_;
    std::optional<stream::local_stream> stream_;
    std::string proxy_;
    const client_session* owner_ = nullptr;
    bool reusable_ = false;  // its last exchange ended cleanly, the service keeps it
    boost::beast::flat_buffer buffer_;
};

}  // namespace burrow::vhost
