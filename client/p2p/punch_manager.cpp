#include "client/p2p/punch_manager.hpp"

#include <algorithm>
#include <deque>
#include <utility>

#include <boost/asio/ip/udp.hpp>
#include <fmt/format.h>

#include "client/config_source.hpp"
#include "common/auth.hpp"
#include "common/config/client.hpp"
#include "common/log.hpp"
#include "common/stream/carrier.hpp"

namespace burrow {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

spdlog::logger& p2p_log() { return log::get("p2p"); }

// Home-side paths kept at once (each is a socket); failed ones go first.
constexpr std::size_t max_home_paths = 32;
// A PunchStart later than this after our request: the attempt is over.
constexpr auto server_patience = 15s;

}  // namespace

struct punch_manager::attempt {
    std::string role, name, peer;
    std::string secret_key, nonce;
    std::uint64_t request_id = 0;
    std::unique_ptr<direct_path> path;
    clock::time_point started{};
    // Visitor side: when attempts started in the last hour, and when the next may.
    std::deque<clock::time_point> history;
    clock::time_point retry_after{};
    int failures_in_row = 0;
    bool repunch = false;  // after the next login (the network changed)
    bool was_up = false;   // the current path got through
};

punch_manager::punch_manager(asio::any_io_executor ex, std::shared_ptr<const config_source> config,
                             hooks h)
    : ex_(std::move(ex)), config_(std::move(config)), hooks_(std::move(h)) {
    const auto cfg = config_->get();
    timings_.keepalive = std::chrono::seconds(cfg->p2p.keepalive);
    timings_.punch_limit = std::chrono::seconds(cfg->p2p.punch_timeout);
}

punch_manager::~punch_manager() { stop(); }

void punch_manager::set_rendezvous(const std::string& host, std::uint16_t port) {
    std::uint64_t generation = 0;
    {
        absl::MutexLock lock(&mutex_);
        generation = ++rendezvous_generation_;
        if (port == 0) {
            rendezvous_.reset();
            return;
        }
    }
    auto resolver = std::make_shared<asio::ip::udp::resolver>(ex_);
    resolver->async_resolve(host, std::to_string(port),
                            [this, resolver, generation, host](const boost::system::error_code& ec,
                                                               asio::ip::udp::resolver::results_type r) {
                                absl::MutexLock lock(&mutex_);
                                if (generation != rendezvous_generation_ || stopped_) return;
                                if (ec || r.empty()) {
                                    p2p_log().warn("cannot resolve the rendezvous {}: {}", host,
                                                   ec ? ec.message() : "no address");
                                    return;
                                }
                                rendezvous_ = r.begin()->endpoint();
                                for (const auto& name : std::exchange(waiting_for_rendezvous_, {}))
                                    for (const auto& v : config_->get()->visitors)
                                        if (v.name == name) want_locked(v);
                                for (auto& [name, a] : visits_) {
                                    if (!std::exchange(a->repunch, false)) continue;
                                    p2p_log().info("[{}] re-announcing candidates after the "
                                                   "network change", name);
                                    start_attempt(name);
                                }
                            });
}

// ---- visitor side ----

void punch_manager::want(const visitor_config& v) {
    absl::MutexLock lock(&mutex_);
    want_locked(v);
}

void punch_manager::want_locked(const visitor_config& v) {
    if (stopped_) return;
    if (!rendezvous_) {
        // Logged in, but its address not resolved yet (or no rendezvous at
        // all): tried once it is known.
        waiting_for_rendezvous_.insert(v.name);
        return;
    }
    auto& a = visits_[v.name];
    if (!a) {
        a = std::make_shared<attempt>();
        a->role = "visitor";
        a->name = v.name;
        a->peer = v.server_client.empty() ? v.server_name : v.server_client + "/" + v.server_name;
        a->secret_key = v.secret_key;
    }
    const auto now = clock::now();
    if (a->path) {
        const auto s = a->path->now();
        if (s.now == direct_path::state::up || s.now == direct_path::state::punching ||
            s.now == direct_path::state::discovering)
            return;
        if (s.now == direct_path::state::idle && now - a->started < server_patience) return;
        if (s.now == direct_path::state::idle) a->path->fail("no answer from the server");
    }
    if (now < a->retry_after) return;
    while (!a->history.empty() && now - a->history.front() > 1h) a->history.pop_front();
    if (a->history.size() >= max_attempts_per_hour) {
        a->retry_after = a->history.front() + 1h;
        return;
    }
    start_attempt(v.name);
}

void punch_manager::network_changed() {
    absl::MutexLock lock(&mutex_);
    for (auto& [name, a] : visits_) {
        if (!a->path) continue;
        const auto s = a->path->now().now;
        if (s == direct_path::state::failed || s == direct_path::state::closed) continue;
        a->repunch = true;
        a->path->fail("the network changed");
    }
}

void punch_manager::start_attempt(const std::string& visitor) {
    auto& a = *visits_[visitor];
    const auto now = clock::now();
    a.started = now;
    a.history.push_back(now);
    a.request_id = next_request_++;
    a.was_up = false;
    a.nonce = auth::random_bytes(auth::nonce_size);
    auto s = timings_;
    s.self = punch::role::visitor;
    s.rendezvous = *rendezvous_;
    s.allow_loopback = rendezvous_->address().is_loopback();
    s.tag = "[" + visitor + "]";
    a.path = std::make_unique<direct_path>(ex_, s);
    const auto rid = a.request_id;
    a.path->on_change([this, visitor, rid](const direct_path::snapshot& snap) {
        on_visitor_path(visitor, rid, snap);
    });
    p2p_log().info("[{}] trying a direct path to {} (the relay carries traffic meanwhile)", visitor,
                   a.peer);
    a.path->discover([this, visitor, rid](direct_path::discovery found) {
        punch_request_msg m;
        {
            absl::MutexLock lock(&mutex_);
            auto it = visits_.find(visitor);
            if (it == visits_.end() || it->second->request_id != rid || found.candidates.empty()) return;
            const auto cfg = config_->get();  // the visitors in force
            const visitor_config* v = nullptr;
            for (const auto& c : cfg->visitors)
                if (c.name == visitor) v = &c;
            if (!v) return;
            m.request_id = rid;
            m.server_name = v->server_name;
            m.server_client = v->server_client;
            m.timestamp = auth::unix_now();
            m.nonce = it->second->nonce;
            m.proof = auth::make_visit_proof(auth::visit_key(v->secret_key), cfg->client_id,
                                             v->server_name, m.timestamp, m.nonce);
            m.candidates = std::move(found.candidates);
            m.mapping_varies = found.mapping_varies;
        }
        if (!hooks_.send_request(m)) {
            absl::MutexLock lock(&mutex_);
            if (auto it = visits_.find(visitor); it != visits_.end() && it->second->path)
                it->second->path->fail("not logged in to the server");
        }
    });
}

void punch_manager::on_visitor_path(const std::string& visitor, std::uint64_t request_id,
                                    const direct_path::snapshot& s) {
    absl::MutexLock lock(&mutex_);
    auto it = visits_.find(visitor);
    if (stopped_ || it == visits_.end() || it->second->request_id != request_id) return;
    auto& a = *it->second;
    if (s.now == direct_path::state::up) {
        a.failures_in_row = 0;
        a.was_up = true;
        return;
    }
    if (s.now != direct_path::state::failed || a.repunch) return;
    // A path that was up and died (its keepalives unanswered here, or the
    // peer's QUIC gave up on it first) is punched again at once, from a
    // fresh port; an attempt that never got through waits longer each time.
    const bool died = std::exchange(a.was_up, false);
    if (died && rendezvous_ && a.history.size() < max_attempts_per_hour) {
        p2p_log().info("[{}] punching again from a fresh port", visitor);
        start_attempt(visitor);
        return;
    }
    ++a.failures_in_row;
    a.retry_after = clock::now() + std::min<clock::duration>(30s * (1 << std::min(a.failures_in_row - 1, 5)), 10min);
}

void punch_manager::on_start(const punch_start_msg& m) {
    absl::MutexLock lock(&mutex_);
    for (auto& [name, a] : visits_) {
        if (a->request_id != m.request_id || !a->path) continue;
        if (!m.error.empty()) {
            a->path->fail("refused by the server: " + m.error.substr(0, 200));
            return;
        }
        if (m.cert_sha256.size() != quic::fingerprint{}.size()) {
            a->path->fail("the server passed on no certificate fingerprint for QUIC");
            return;
        }
        quic::fingerprint pinned{};
        std::copy(m.cert_sha256.begin(), m.cert_sha256.end(), pinned.begin());
        a->path->punch(m.punch_id, punch::derive_key(a->secret_key, m.punch_id, a->nonce),
                       m.candidates, m.mapping_varies, pinned);
        return;
    }
}

// ---- home side ----

void punch_manager::on_offer(const punch_offer_msg& m) {
    punch_answer_msg refusal{m.punch_id, {}, {}, {}};
    const auto cfg = config_->get();  // the proxies in force
    const proxy_config* proxy = nullptr;
    for (const auto& p : cfg->proxies)
        if (p.name == m.proxy && p.type == "secret") proxy = &p;
    if (!proxy || !proxy->p2p) {
        refusal.error = fmt::format("direct paths are off for proxy {}", m.proxy);
        p2p_log().info("[{}] direct path from visitor {} refused: p2p is off", m.proxy, m.visitor);
        hooks_.send_answer(refusal);
        return;
    }
    absl::MutexLock lock(&mutex_);
    if (stopped_ || !rendezvous_) {
        refusal.error = "the home client knows no rendezvous";
        hooks_.send_answer(refusal);
        return;
    }
    // The same visitor punching again replaces what it had; then the table
    // stays bounded, failed paths leaving first.
    for (auto it = homes_.begin(); it != homes_.end();) {
        const auto& a = *it->second;
        it = a.name == m.proxy && a.peer == m.visitor ? homes_.erase(it) : std::next(it);
    }
    while (homes_.size() >= max_home_paths) {
        auto victim = std::find_if(homes_.begin(), homes_.end(), [](const auto& h) {
            return h.second->path->now().now != direct_path::state::up;
        });
        homes_.erase(victim == homes_.end() ? homes_.begin() : victim);
    }
    std::shared_ptr<const quic::identity> identity;
    try {
        identity = quic::identity::shared();
    } catch (const std::exception& e) {
        refusal.error = "the home client has no TLS identity for QUIC";
        p2p_log().warn("[{}] no TLS identity for QUIC: {}", m.proxy, e.what());
        hooks_.send_answer(refusal);
        return;
    }
    auto a = std::make_shared<attempt>();
    a->role = "home";
    a->name = m.proxy;
    a->peer = m.visitor;
    a->started = clock::now();
    auto s = timings_;
    s.self = punch::role::home;
    s.rendezvous = *rendezvous_;
    s.allow_loopback = rendezvous_->address().is_loopback();
    s.tag = fmt::format("[{}/{}]", m.proxy, m.visitor);
    s.identity = identity;
    s.on_stream = [this, proxy = m.proxy, visitor = m.visitor](stream::carrier* c, const quic::link& on) {
        if (hooks_.serve_stream) hooks_.serve_stream(c, proxy, visitor, on);
        else c->finish(false);
    };
    a->path = std::make_unique<direct_path>(ex_, s);
    const auto key = punch::derive_key(proxy->secret_key, m.punch_id, m.nonce);
    const auto& sha = identity->sha256();
    a->path->discover([this, id = m.punch_id, key, peer = m.candidates, peer_varies = m.mapping_varies,
                       cert = std::string(sha.begin(), sha.end())](direct_path::discovery ours) {
        const bool none = ours.candidates.empty();
        punch_answer_msg answer{id, std::move(ours.candidates),
                                none ? "the home client has no UDP socket" : "", cert,
                                ours.mapping_varies};
        hooks_.send_answer(answer);
        absl::MutexLock held(&mutex_);
        if (auto it = homes_.find(id); it != homes_.end() && !none)
            it->second->path->punch(id, key, peer, peer_varies);
    });
    p2p_log().info("[{}] visitor {} asks for a direct path (punch {})", m.proxy, m.visitor, m.punch_id);
    homes_[m.punch_id] = std::move(a);
}

std::shared_ptr<quic::link> punch_manager::link_for(const std::string& visitor) const {
    absl::MutexLock lock(&mutex_);
    auto it = visits_.find(visitor);
    return it == visits_.end() || !it->second->path ? nullptr : it->second->path->link();
}

std::vector<punch_manager::entry> punch_manager::list() const {
    absl::MutexLock lock(&mutex_);
    std::vector<entry> out;
    for (const auto& [name, a] : visits_)
        if (a->path) out.push_back({a->role, a->name, a->peer, a->path->now()});
    for (const auto& [id, a] : homes_) out.push_back({a->role, a->name, a->peer, a->path->now()});
    return out;
}

void punch_manager::stop() {
    absl::MutexLock lock(&mutex_);
    stopped_ = true;
    visits_.clear();
    homes_.clear();
}

}  // namespace burrow
