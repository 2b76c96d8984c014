#include "server/live.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <tuple>
#include <unordered_map>

#include "common/protocol_limits.hpp"

namespace burrow::live {

double unix_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A proxy's names, what its sessions moved before they ended, and its last
// trouble; shared by the proxy's row and its sessions' listings.
struct counters {
    std::string proxy, client;
    std::uint64_t run = 0;
    std::uint64_t closed_in = 0, closed_out = 0, total = 0;
    std::string last_error;
};

namespace {

struct bucket {
    double t = 0;
    std::uint64_t in = 0, out = 0;
};

std::shared_ptr<counters> named_counters(const std::string& proxy, const std::string& client,
                                         std::uint64_t run) {
    auto c = std::make_shared<counters>();
    c->proxy = proxy;
    c->client = client;
    c->run = run;
    return c;
}

struct proxy_row {
    proxy_info info;
    std::shared_ptr<counters> c;
    double bucket_start = 0;
    std::uint64_t sampled_in = 0, sampled_out = 0;  // totals when the bucket began
    std::deque<bucket> series;
};

// A direct session's listing: its id in `sessions`, where a moved visit's
// counts start (its bytes before the move), and the listing itself.
struct direct_listing {
    std::uint64_t id = 0;
    std::uint64_t base_in = 0, base_out = 0;
    listing l;
};

constexpr std::size_t max_moved_remembered = 4096;

struct client_row {
    client_info info;
    bool away = false;
};

struct sums {
    std::uint64_t in = 0, out = 0;
    std::size_t live = 0;
};

}  // namespace

struct core {
    mutable std::mutex mutex;
    // Every listed session: a relayed one's listing lives in its `session`,
    // a direct one's in direct_ids.
    std::unordered_map<std::uint64_t, listing*> sessions;
    std::map<std::uint64_t, client_row> clients;  // by run
    std::map<std::string, proxy_row> proxies;   // by name
    std::uint64_t closed_in = 0, closed_out = 0, connections_total = 0;
    std::atomic<std::uint64_t> login_failures{0}, resumptions{0};
    // Direct sessions' listing ids, by (run, the client's id); they count
    // down from the top so as never to meet the server's own ids.
    std::map<std::pair<std::uint64_t, std::uint64_t>, direct_listing> direct_ids;
    std::uint64_t next_direct_listing = ~std::uint64_t{0};
    // Where moved visits' direct reports start counting, oldest first.
    std::map<std::uint64_t, std::pair<std::uint64_t, std::uint64_t>> moved_bases;
    std::deque<std::uint64_t> moved_order;

    // The counters a session of `proxy` adds to: its row's, when the proxy
    // is up for the same run. Under the lock.
    std::shared_ptr<counters> counters_of(const std::string& proxy, const std::string& client,
                                          std::uint64_t run) const {
        auto row = proxies.find(proxy);
        return row != proxies.end() && row->second.info.run == run
                   ? row->second.c
                   : named_counters(proxy, client, run);
    }

    // The live sessions' bytes, by the counters of their proxy. Under the lock.
    std::unordered_map<const counters*, sums> live_sums() const {
        std::unordered_map<const counters*, sums> out;
        for (const auto& [_, e] : sessions) {
            auto& s = out[e->c.get()];
            s.in += e->meter->in.load(std::memory_order_relaxed);
            s.out += e->meter->out.load(std::memory_order_relaxed);
            ++s.live;
        }
        return out;
    }

    void leave(std::uint64_t id, const listing* owner) {
        std::lock_guard lock(mutex);
        leave_locked(id, owner);
    }

    // Session `id`'s listing, if `owner` is it (nullptr: not listed, or by another).
    listing* find_locked(std::uint64_t id, const listing* owner) {
        auto it = sessions.find(id);
        return it != sessions.end() && it->second == owner ? it->second : nullptr;
    }

    void leave_locked(std::uint64_t id, const listing* owner) {
        auto it = sessions.find(id);
        if (it == sessions.end() || it->second != owner) return;
        const auto in = owner->meter->in.load(std::memory_order_relaxed);
        const auto out = owner->meter->out.load(std::memory_order_relaxed);
        owner->c->closed_in += in;
        owner->c->closed_out += out;
        closed_in += in;
        closed_out += out;
        sessions.erase(it);
    }
};

// ---- session ----

session::session(token, std::shared_ptr<core> c, std::uint64_t id,
                 std::shared_ptr<counters> counts, std::string user_addr)
    : core_(std::move(c)), id_(id) {
    listing_.c = std::move(counts);
    listing_.user_addr = std::move(user_addr);
    listing_.opened_at = unix_now();
}

session::~session() { core_->leave(id_, &listing_); }

const std::shared_ptr<stream::meter>& session::meter() const { return listing_.meter; }

void session::set_closer(std::function<void(const std::string&)> close) {
    std::lock_guard lock(core_->mutex);
    if (auto* l = core_->find_locked(id_, &listing_)) l->closer = std::move(close);
}

void session::failed(std::string why) {
    std::lock_guard lock(core_->mutex);
    if (auto* l = core_->find_locked(id_, &listing_)) l->c->last_error = std::move(why);
}

// ---- book ----

book::book() : core_(std::make_shared<core>()) {}
book::~book() = default;

std::shared_ptr<session> book::open(std::uint64_t id, const std::string& proxy,
                                    const std::string& client, std::uint64_t run,
                                    std::string user_addr) {
    std::lock_guard lock(core_->mutex);
    auto c = core_->counters_of(proxy, client, run);
    ++c->total;
    ++core_->connections_total;
    auto s = std::make_shared<session>(session::token{}, core_, id, std::move(c),
                                       std::move(user_addr));
    core_->sessions.try_emplace(id, &s->listing_);
    return s;
}

bool book::close(std::uint64_t id, const std::string& why) {
    std::function<void(const std::string&)> closer;
    {
        std::lock_guard lock(core_->mutex);
        auto it = core_->sessions.find(id);
        if (it == core_->sessions.end() || !it->second->closer) return false;
        closer = it->second->closer;
    }
    closer(why);  // it may end the session, which takes the lock
    return true;
}

void book::client_up(client_info c) {
    std::lock_guard lock(core_->mutex);
    const auto run = c.run;
    core_->clients[run] = client_row{std::move(c), false};
}

void book::client_away(std::uint64_t run) {
    std::lock_guard lock(core_->mutex);
    if (auto it = core_->clients.find(run); it != core_->clients.end()) it->second.away = true;
}

void book::client_back(std::uint64_t run, std::string addr) {
    std::lock_guard lock(core_->mutex);
    if (auto it = core_->clients.find(run); it != core_->clients.end()) {
        it->second.away = false;
        it->second.info.addr = std::move(addr);
    }
}

void book::client_down(std::uint64_t run) {
    std::lock_guard lock(core_->mutex);
    core_->clients.erase(run);
    // Its direct sessions are not known any more.
    auto& ids = core_->direct_ids;
    for (auto it = ids.lower_bound({run, 0}); it != ids.end() && it->first.first == run;) {
        core_->leave_locked(it->second.id, &it->second.l);
        it = ids.erase(it);
    }
}

void book::proxy_up(proxy_info p) {
    std::lock_guard lock(core_->mutex);
    auto name = p.name;
    proxy_row row;
    row.c = named_counters(p.name, p.client, p.run);
    row.info = std::move(p);
    row.bucket_start = unix_now();
    core_->proxies[name] = std::move(row);
}

void book::proxy_down(const std::string& name) {
    std::lock_guard lock(core_->mutex);
    core_->proxies.erase(name);
}

void book::direct_report(std::uint64_t run, const std::string& client, std::vector<direct_info> rows,
                         std::function<void(std::uint64_t, const std::string&)> close) {
    if (rows.size() > protocol::max_direct_report) rows.resize(protocol::max_direct_report);
    std::lock_guard lock(core_->mutex);
    auto& c = *core_;
    std::set<std::uint64_t> now;
    for (auto& r : rows) {
        auto [at, fresh] = c.direct_ids.try_emplace({run, r.id});
        auto& listing = at->second;
        if (fresh) {
            listing.id = c.next_direct_listing--;
            auto counts = c.counters_of(r.proxy, client, run);
            if (r.moved) {
                if (auto b = c.moved_bases.find(r.id); b != c.moved_bases.end())
                    std::tie(listing.base_in, listing.base_out) = b->second;
            } else {
                ++counts->total;
                ++c.connections_total;
            }
            listing.l.c = std::move(counts);
            listing.l.user_addr = r.peer;
            listing.l.opened_at = unix_now() - r.age_seconds;
            listing.l.closer = [close, id = r.id](const std::string& why) { close(id, why); };
            listing.l.direct = true;
            c.sessions.insert_or_assign(listing.id, &listing.l);
        }
        now.insert(listing.id);
        auto& m = *listing.l.meter;
        // Counts only grow (a report may be older than one already taken).
        const auto in = r.bytes_in > listing.base_in ? r.bytes_in - listing.base_in : 0;
        const auto out = r.bytes_out > listing.base_out ? r.bytes_out - listing.base_out : 0;
        if (in > m.in.load(std::memory_order_relaxed)) m.in.store(in, std::memory_order_relaxed);
        if (out > m.out.load(std::memory_order_relaxed)) m.out.store(out, std::memory_order_relaxed);
        if (r.ended) {
            c.leave_locked(listing.id, &listing.l);
            now.erase(listing.id);
            c.direct_ids.erase(at);
        }
    }
    // Those not reported now have ended.
    for (auto it = c.direct_ids.lower_bound({run, 0}); it != c.direct_ids.end() && it->first.first == run;) {
        if (now.count(it->second.id)) {
            ++it;
            continue;
        }
        c.leave_locked(it->second.id, &it->second.l);
        it = c.direct_ids.erase(it);
    }
}

void book::moved_to_direct(std::uint64_t id, std::uint64_t in, std::uint64_t out) {
    std::lock_guard lock(core_->mutex);
    auto& c = *core_;
    if (!c.moved_bases.try_emplace(id, in, out).second) return;
    c.moved_order.push_back(id);
    while (c.moved_order.size() > max_moved_remembered) {
        c.moved_bases.erase(c.moved_order.front());
        c.moved_order.pop_front();
    }
}

void book::login_failed() { core_->login_failures.fetch_add(1, std::memory_order_relaxed); }
void book::resumed() { core_->resumptions.fetch_add(1, std::memory_order_relaxed); }

std::vector<session_view> book::sessions() const {
    std::lock_guard lock(core_->mutex);
    std::vector<session_view> out;
    out.reserve(core_->sessions.size());
    for (const auto& [id, e] : core_->sessions)
        out.push_back({id, e->c->proxy, e->c->client, e->user_addr, e->direct ? "p2p" : "relay",
                       e->opened_at, e->meter->in.load(std::memory_order_relaxed),
                       e->meter->out.load(std::memory_order_relaxed)});
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return out;
}

std::vector<client_view> book::clients() const {
    std::lock_guard lock(core_->mutex);
    std::vector<client_view> out;
    for (const auto& [run, c] : core_->clients) {
        client_view v{c.info, c.away, {}, 0};
        for (const auto& [name, p] : core_->proxies)
            if (p.info.run == run) v.proxies.push_back(name);
        for (const auto& [_, e] : core_->sessions)
            if (e->c->run == run) ++v.sessions;
        out.push_back(std::move(v));
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.info.since < b.info.since; });
    return out;
}

namespace {
std::pair<std::uint64_t, std::uint64_t> total_of(
    const proxy_row& p, const std::unordered_map<const counters*, sums>& live) {
    std::uint64_t in = p.c->closed_in, out = p.c->closed_out;
    if (auto s = live.find(p.c.get()); s != live.end()) {
        in += s->second.in;
        out += s->second.out;
    }
    return {in, out};
}
}  // namespace

std::vector<proxy_view> book::proxies() const {
    std::lock_guard lock(core_->mutex);
    const auto live = core_->live_sums();
    std::vector<proxy_view> out;
    for (const auto& [name, p] : core_->proxies) {
        proxy_view v;
        v.info = p.info;
        auto client = core_->clients.find(p.info.run);
        v.away = client != core_->clients.end() && client->second.away;
        std::tie(v.bytes_in, v.bytes_out) = total_of(p, live);
        v.connections_total = p.c->total;
        v.last_error = p.c->last_error;
        if (auto s = live.find(p.c.get()); s != live.end()) v.connections = s->second.live;
        out.push_back(std::move(v));
    }
    return out;
}


std::optional<traffic_view> book::traffic(const std::string& proxy) const {
    std::lock_guard lock(core_->mutex);
    auto it = core_->proxies.find(proxy);
    if (it == core_->proxies.end()) return std::nullopt;
    const auto& p = it->second;
    traffic_view v;
    v.bucket_seconds = bucket_seconds;
    for (const auto& b : p.series) {
        v.t.push_back(b.t);
        v.in.push_back(b.in);
        v.out.push_back(b.out);
    }
    const auto [in, out] = total_of(p, core_->live_sums());
    v.t.push_back(p.bucket_start);
    v.in.push_back(in - p.sampled_in);
    v.out.push_back(out - p.sampled_out);
    return v;
}

totals_view book::totals() const {
    std::lock_guard lock(core_->mutex);
    totals_view v;
    v.clients = core_->clients.size();
    v.proxies = core_->proxies.size();
    v.sessions = core_->sessions.size();
    v.bytes_in = core_->closed_in;
    v.bytes_out = core_->closed_out;
    for (const auto& [_, e] : core_->sessions) {
        v.bytes_in += e->meter->in.load(std::memory_order_relaxed);
        v.bytes_out += e->meter->out.load(std::memory_order_relaxed);
    }
    v.connections_total = core_->connections_total;
    v.login_failures = core_->login_failures.load(std::memory_order_relaxed);
    v.resumptions = core_->resumptions.load(std::memory_order_relaxed);
    return v;
}

void book::sample(double now) {
    std::lock_guard lock(core_->mutex);
    const auto live = core_->live_sums();
    for (auto& [_, p] : core_->proxies) {
        const auto [in, out] = total_of(p, live);
        p.series.push_back({p.bucket_start, in - p.sampled_in, out - p.sampled_out});
        while (p.series.size() >= max_buckets) p.series.pop_front();  // one stays in progress
        p.bucket_start = now;
        p.sampled_in = in;
        p.sampled_out = out;
    }
}

}  // namespace burrow::live
