#include "client/visitor_set.hpp"

#include <algorithm>
#include <map>

#include "client/reload.hpp"
#include "common/log.hpp"

namespace burrow {

std::shared_ptr<visitor_listener> visitor_set::make(const visitor_config& v) {
    return std::make_shared<visitor_listener>(ex_, context_(), v);
}

void visitor_set::start(const std::vector<visitor_config>& visitors) {
    for (const auto& v : visitors) {
        if (v.bind_port == 0) continue;  // only for `burrow-client connect`
        auto l = make(v);
        l->start();
        std::lock_guard lock(mutex_);
        listeners_.push_back(std::move(l));
    }
}

void visitor_set::apply(const reload_plan& plan) {
    std::lock_guard lock(mutex_);
    const auto leaving = [&](const std::string& name) {
        return std::count(plan.visitors_removed.begin(), plan.visitors_removed.end(), name) ||
               std::count(plan.visitors_changed.begin(), plan.visitors_changed.end(), name);
    };
    std::map<std::string, std::shared_ptr<visitor_listener>> leaving_now;
    std::erase_if(listeners_, [&](const auto& l) {
        if (!leaving(l->name())) return false;
        leaving_now[l->name()] = l;
        return true;
    });
    for (const auto& v : plan.visitors_added) {
        if (v.bind_port == 0) continue;
        auto l = make(v);
        const auto start = [l] {
            try {
                l->start();
            } catch (const std::exception& e) {
                log::get("client").error("reload: {}", e.what());
            }
        };
        // A changed visitor listens again once its old port is closed.
        if (auto old = leaving_now.extract(v.name); !old.empty())
            old.mapped()->stop(start);
        else
            start();
        listeners_.push_back(std::move(l));
    }
    for (auto& [_, l] : leaving_now) l->stop();
}

void visitor_set::stop() {
    std::lock_guard lock(mutex_);
    for (auto& l : listeners_) l->stop();
}

}  // namespace burrow
