// config_source: the client's configuration as it is now. A reload publishes
// a new immutable snapshot; whoever needs the proxies or visitors in force
// (a Work stream's start, a direct path's offer, the status listing) takes the
// current one, keeps it for as long as it uses it, and never sees it change.
// Thread-safe.
#pragma once

#include <atomic>
#include <memory>

namespace burrow {

struct client_config;

class config_source {
public:
    explicit config_source(std::shared_ptr<const client_config> c) : current_(std::move(c)) {}
    std::shared_ptr<const client_config> get() const { return current_.load(); }
    void publish(std::shared_ptr<const client_config> c) { current_.store(std::move(c)); }

private:
    std::atomic<std::shared_ptr<const client_config>> current_;
};

}  // namespace burrow
