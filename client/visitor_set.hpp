// The client's running visitors: a listener for each [[visitors]] entry with
// a port, started with the client, changed by a reload, stopped on the way
// out. Open visits are not theirs: they go on when a listener stops.
// Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "client/visitor.hpp"

namespace burrow {

struct reload_plan;

class visitor_set {
public:
    visitor_set(boost::asio::any_io_executor ex, std::function<visit_context()> context)
        : ex_(std::move(ex)), context_(std::move(context)) {}

    // Listens for each visitor with a port (those without serve only
    // `burrow-client connect`). Throws std::runtime_error naming the first
    // that cannot listen: a start-up error, like a bad config.
    void start(const std::vector<visitor_config>& visitors);
    // What a reload changes: removed and changed visitors stop listening, and
    // added ones listen (a changed one once its old port is closed). A port
    // that cannot be had is logged; the rest goes on.
    void apply(const reload_plan& plan);
    // Every listener stops accepting.
    void stop();

private:
    std::shared_ptr<visitor_listener> make(const visitor_config& v);

    boost::asio::any_io_executor ex_;
    std::function<visit_context()> context_;
    std::mutex mutex_;
    std::vector<std::shared_ptr<visitor_listener>> listeners_;  // guarded by mutex_
};

}  // namespace burrow
