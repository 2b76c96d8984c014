#include "server/server_state.hpp"

#include <algorithm>

#include "common/stream/splice.hpp"
#include "server/client_session.hpp"

namespace burrow {

server_state::server_state(std::shared_ptr<const server_config> cfg,
                           boost::asio::io_context& io_context)
    : config_snapshot(std::move(cfg)),
      config(*config_snapshot),
      io(io_context),
      verifier(tokens_of(config)),
      ports(config.proxy_bind_addr, config.allow_ports),
      vhosts(config),
      settings_(config_snapshot) {}

auth::tokens tokens_of(const server_config& cfg) {
    auth::tokens t{cfg.auth.token, {}};
    for (const auto& c : cfg.auth.clients) t.per_client.emplace(c.id, c.token);
    return t;
}

void server_state::add_run(const std::string& run_id, std::shared_ptr<client_session> s) {
    std::lock_guard lock(mutex_);
    runs_[run_id] = std::move(s);
}

void server_state::remove_run(const std::string& run_id) {
    std::lock_guard lock(mutex_);
    runs_.erase(run_id);
}

std::shared_ptr<client_session> server_state::find_run(const std::string& run_id) {
    std::lock_guard lock(mutex_);
    auto it = runs_.find(run_id);
    return it == runs_.end() ? nullptr : it->second.lock();
}

std::vector<std::shared_ptr<client_session>> server_state::all_runs() {
    std::vector<std::shared_ptr<client_session>> found;
    std::lock_guard lock(mutex_);
    for (auto& [_, weak] : runs_)
        if (auto s = weak.lock()) found.push_back(std::move(s));
    return found;
}

std::size_t server_state::runs_of_others(const std::string& client_id) {
    // Counted outside the lock: the last reference to a run may go here.
    const auto runs = all_runs();
    return static_cast<std::size_t>(std::count_if(runs.begin(), runs.end(), [&](const auto& s) {
        return s->client_id() != client_id;
    }));
}

std::vector<std::shared_ptr<client_session>> server_state::runs_of(const std::string& client_id) {
    std::vector<std::shared_ptr<client_session>> found;
    std::lock_guard lock(mutex_);
    for (auto& [_, weak] : runs_)
        if (auto s = weak.lock(); s && s->client_id() == client_id) found.push_back(std::move(s));
    return found;
}

void server_state::add_splice(std::uint64_t id, std::shared_ptr<stream::splice> s) {
    std::lock_guard lock(mutex_);
    splices_[id] = std::move(s);
}

void server_state::remove_splice(std::uint64_t id) {
    std::shared_ptr<stream::splice> gone;  // released outside the lock
    std::lock_guard lock(mutex_);
    if (auto it = splices_.find(id); it != splices_.end()) {
        gone = std::move(it->second);
        splices_.erase(it);
    }
}

std::shared_ptr<stream::splice> server_state::find_splice(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    auto it = splices_.find(id);
    return it == splices_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<stream::splice>> server_state::splices() {
    std::vector<std::shared_ptr<stream::splice>> all;
    std::lock_guard lock(mutex_);
    for (auto& [_, s] : splices_) all.push_back(s);
    return all;
}

bool server_state::claim_name(const std::string& name, const std::string& run_id) {
    std::lock_guard lock(mutex_);
    auto [it, inserted] = name_owner_.emplace(name, run_id);
    return inserted || it->second == run_id;
}

void server_state::release_name(const std::string& name, const std::string& run_id) {
    std::lock_guard lock(mutex_);
    if (auto it = name_owner_.find(name); it != name_owner_.end() && it->second == run_id)
        name_owner_.erase(it);
}

}  // namespace burrow
