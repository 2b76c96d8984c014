// State shared by everything in one burrow-server process (internal header).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/auth.hpp"
#include "common/config/server.hpp"
#include "common/stream/registry.hpp"
#include "server/conn_limits.hpp"
#include "server/failure_budget.hpp"
#include "server/live.hpp"
#include "server/rendezvous/punch_broker.hpp"
#include "server/port_manager.hpp"
#include "server/visit/secret_table.hpp"
#include "server/vhost/table.hpp"

namespace burrow {

class client_session;
namespace stream {
class splice;
}

// The tokens `cfg` lets clients log in with.
auth::tokens tokens_of(const server_config& cfg);

struct server_state {
    server_state(std::shared_ptr<const server_config> cfg, boost::asio::io_context& io_context);

    // The configuration, an immutable snapshot. What keeps settings beyond a call
    // (a lambda, an object of its own) holds the shared_ptr, so a later reload
    // that publishes a new snapshot leaves no reference dangling.
    const std::shared_ptr<const server_config> config_snapshot;
    // *config_snapshot, for reading a setting now; valid while this server_state lives.
    const server_config& config;
    // The settings a reload may change (server/reload.hpp says which: tokens,
    // allow_ports, limits and timeouts, log level), read where they apply.
    // Until a reload, config_snapshot itself.
    std::shared_ptr<const server_config> settings() const { return settings_.load(); }
    void publish(std::shared_ptr<const server_config> next) { settings_.store(std::move(next)); }
    boost::asio::io_context& io;
    auth::verifier verifier;
    port_manager ports;
    conn_limits limits{config.max_connections_per_source, config.max_connections_per_proxy};
    // Failed client logins per source address (max_login_failures a minute).
    failure_budget login_failures{{config.max_login_failures, std::chrono::seconds(60)}};
    vhost_table vhosts;
    secret_table secrets;
    std::atomic<std::uint64_t> next_conn_id{1};
    // Every user connection's session, by conn id.
    stream::registry sessions;
    std::atomic<std::uint64_t> next_session_no{1};
    // Punch signalling between visitors and home clients (direct paths).
    punch_broker punches{*this};
    // Set once the server stops: no new proxies while open connections drain.
    std::atomic<bool> draining{false};
    // The rendezvous' first UDP port, told to clients at login; 0 = none.
    std::atomic<std::uint16_t> rendezvous_port{0};
    // What runs now, for the dashboard: clients, proxies, sessions and counts.
    live::book live;
    // Visits being spliced, by session id (a conn id too): a Resume of
    // either end finds its splice here. A splice leaves when it ends.
    void add_splice(std::uint64_t id, std::shared_ptr<stream::splice> s);
    void remove_splice(std::uint64_t id);
    std::shared_ptr<stream::splice> find_splice(std::uint64_t id);
    std::vector<std::shared_ptr<stream::splice>> splices();
    const std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

    // Logged-in runs, by their secret run id. Work streams find theirs here.
    void add_run(const std::string& run_id, std::shared_ptr<client_session> s);
    void remove_run(const std::string& run_id);
    std::shared_ptr<client_session> find_run(const std::string& run_id);
    // The runs of client `client_id` (only read after their login).
    std::vector<std::shared_ptr<client_session>> runs_of(const std::string& client_id);
    std::vector<std::shared_ptr<client_session>> all_runs();
    // How many runs belong to clients other than `client_id`.
    std::size_t runs_of_others(const std::string& client_id);

    // Proxy names are unique on the server. Returns false when another run holds it.
    bool claim_name(const std::string& name, const std::string& run_id);
    void release_name(const std::string& name, const std::string& run_id);

private:
    std::atomic<std::shared_ptr<const server_config>> settings_;
    std::mutex mutex_;
    std::unordered_map<std::string, std::weak_ptr<client_session>> runs_;
    std::unordered_map<std::string, std::string> name_owner_;  // proxy name -> run id
    std::unordered_map<std::uint64_t, std::shared_ptr<stream::splice>> splices_;
};

}  // namespace burrow
