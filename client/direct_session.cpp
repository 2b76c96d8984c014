#include "client/direct_session.hpp"

#include <atomic>
#include <optional>

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include "burrow.pb.h"
#include "client/local_dialer.hpp"
#include "client/p2p/quic_link.hpp"
#include "common/auth.hpp"
#include "common/config/client.hpp"
#include "common/log.hpp"
#include "common/host_names.hpp"
#include "common/stream/frame_codec.hpp"
#include "common/stream/registry.hpp"

namespace burrow {

namespace {

spdlog::logger& p2p_log() { return log::get("p2p"); }

std::atomic<std::uint64_t> next_direct_id{1};
// Whose direct sessions a re-attach may name (pump::resume_owned_by): this
// process's, not the server's relayed ones.
const char direct_owner = 0;

// Home: relayed visits the visitor may move onto a direct path, with the
// secret it must present (allow_move).
std::mutex moves_mutex;
std::map<std::uint64_t, std::string> moves;

// Home: the direct sessions, listed for the server (home_direct_sessions).
std::mutex direct_rows_mutex;
struct listed {
    std::string proxy;
    bool moved = false;
    std::weak_ptr<stream::pump> session;
    std::optional<direct_row> final;  // once it ended, until listed (or stale)
    std::chrono::steady_clock::time_point ended_at{};
};
std::map<std::uint64_t, listed> direct_rows;
// Final counts nobody asked for (not logged in) are dropped after this.
constexpr std::chrono::seconds keep_final{30};

direct_row row_of(std::uint64_t id, const listed& l, stream::pump& p) {
    const auto s = p.describe();
    return {id, l.proxy, s.peer, s.age_seconds, s.counts.delivered, s.counts.sent, l.moved, false};
}

void list_direct(std::uint64_t id, const std::string& proxy, bool moved,
                 const std::shared_ptr<stream::pump>& p) {
    const auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(direct_rows_mutex);
        std::erase_if(direct_rows, [&](const auto& r) { return r.second.final && now - r.second.ended_at > keep_final; });
        direct_rows[id] = {proxy, moved, p, std::nullopt, {}};
    }
    // Its final counts are listed once more, so that the server's totals
    // get its last bytes too.
    p->on_end([id, weak = std::weak_ptr(p)] {
        auto s = weak.lock();
        std::lock_guard lock(direct_rows_mutex);
        auto it = direct_rows.find(id);
        if (it == direct_rows.end()) return;
        if (!s) return void(direct_rows.erase(it));
        it->second.final = row_of(id, it->second, *s);
        it->second.final->ended = true;
        it->second.ended_at = std::chrono::steady_clock::now();
    });
}

bool take_move(std::uint64_t id, const std::string& secret) {
    std::lock_guard lock(moves_mutex);
    auto it = moves.find(id);
    if (it == moves.end() || !auth::same_proof(it->second, secret)) return false;
    moves.erase(it);
    return true;
}

// Home: the visitor re-attaches session `d.resume_id()` on `fresh`'s carrier:
// one of its direct sessions, or a relayed visit it moves onto the path.
void resume_session(const direct_home& home, const std::shared_ptr<stream::pump>& fresh,
                    const v1::DirectHello& d, const std::string& proxy) {
    auto session = home.sessions ? home.sessions->find(d.resume_id()) : nullptr;
    const bool moving = session && !session->resume_owned_by(&direct_owner) &&
                        take_move(d.resume_id(), d.session_secret());
    if (moving) {
        session->set_resumable(d.session_secret(), &direct_owner, direct_resume_keep);
        list_direct(d.resume_id(), proxy, true, session);
    }
    if (!session || !session->resume_owned_by(&direct_owner) ||
        !session->resume_secret_is(d.session_secret())) {
        p2p_log().info("[{}] re-attach of direct session {} refused: no such session", proxy,
                       d.resume_id() & ~direct_session_bit);
        return fresh->fail("no such session");
    }
    const stream::resume_point theirs{d.received(), d.received_fin()};
    fresh->hand_over([session, theirs](stream::carrier* c) {
        if (!c) return;
        auto err = session->reattach(c, theirs, [](stream::resume_point ours) {
            return frame_codec::encode_resume_head(frame_codec::f_resumed, ours);
        });
        if (!err.empty()) {
            c->finish(false);
            session->reset("re-attach failed: " + err);
        }
    });
}

}  // namespace

std::vector<direct_row> home_direct_sessions(std::size_t at_most) {
    std::vector<direct_row> out;
    std::vector<std::pair<std::uint64_t, std::shared_ptr<stream::pump>>> live;
    {
        std::lock_guard lock(direct_rows_mutex);
        for (auto it = direct_rows.begin(); it != direct_rows.end() && out.size() + live.size() < at_most;) {
            if (it->second.final) {
                out.push_back(*it->second.final);
                it = direct_rows.erase(it);
                continue;
            }
            if (auto p = it->second.session.lock()) live.emplace_back(it->first, std::move(p));
            ++it;
        }
    }
    for (auto& [id, p] : live) {  // describe() takes the pump's lock: not under ours
        std::unique_lock lock(direct_rows_mutex);
        auto it = direct_rows.find(id);
        if (it == direct_rows.end() || it->second.final) continue;  // ended meanwhile: next time
        const auto l = it->second;
        lock.unlock();
        out.push_back(row_of(id, l, *p));
    }
    return out;
}

bool close_home_direct(std::uint64_t id, const std::string& why) {
    std::shared_ptr<stream::pump> p;
    {
        std::lock_guard lock(direct_rows_mutex);
        if (auto it = direct_rows.find(id); it != direct_rows.end()) p = it->second.session.lock();
    }
    if (!p) return false;
    p2p_log().info("{} closed by the server: {}", p->describe().tag, why);
    p->reset(why);
    return true;
}

void allow_move(const std::shared_ptr<stream::pump>& p, std::uint64_t conn_id,
                const std::string& move_secret) {
    if (move_secret.size() != stream::pump::secret_size) return;
    {
        std::lock_guard lock(moves_mutex);
        moves[conn_id] = move_secret;
    }
    p->on_end([conn_id] {
        std::lock_guard lock(moves_mutex);
        moves.erase(conn_id);
    });
}

void continue_over_relay(
    const std::shared_ptr<stream::pump>& work, stream::registry& sessions, std::uint64_t direct_id,
    const std::string& secret, stream::resume_point theirs, std::uint64_t conn_id,
    std::function<void(const std::shared_ptr<stream::pump>&, std::uint64_t)> relay_resumable) {
    auto session = sessions.find(direct_id);
    if (!session || !session->resume_owned_by(&direct_owner) || !session->resume_secret_is(secret)) {
        p2p_log().info("direct session {} cannot go on over the relay: no such session",
                       direct_id & ~direct_session_bit);
        return work->fail("no such session");
    }
    work->hand_over([session, theirs, conn_id, &sessions,
                     relay_resumable = std::move(relay_resumable)](stream::carrier* c) {
        if (!c) return;
        auto err = session->reattach(c, theirs, [](stream::resume_point ours) {
            return frame_codec::encode_resume_head(frame_codec::f_resumed, ours);
        });
        if (!err.empty()) {
            c->finish(false);
            return session->reset("re-attach over the relay failed: " + err);
        }
        p2p_log().info("direct session {} goes on over the relay (session {})",
                       session->describe().tag, conn_id);
        sessions.add(conn_id, session);
        if (relay_resumable) relay_resumable(session, conn_id);
    });
}

std::string direct_hello(const visitor_config& v, const quic::link& on, const std::string& secret) {
    v1::Frame head;
    auto* d = head.mutable_direct();
    d->set_proxy(v.server_name);
    d->set_proof(on.proof());
    d->set_session_secret(secret);
    return head.SerializeAsString();
}

void serve_direct_stream(const direct_home& home, stream::carrier* c, const std::string& proxy,
                         const std::string& visitor, const quic::link& on) {
    auto session = std::make_shared<stream::pump>(home.ex);
    session->attach(c);
    c->set_events(session);
    const std::string peer = fmt::format("{}", fmt::streamed(on.peer()));
    std::weak_ptr<stream::pump> weak = session;
    session->read_head([weak, home, proxy, visitor, peer, proof = on.proof()](std::string serialized) {
        auto p = weak.lock();
        if (!p) return;
        v1::Frame head;
        if (!head.ParseFromString(serialized) || !head.has_direct())
            return p->close("protocol error: expected a direct hello");
        const auto& d = head.direct();
        if (d.proxy() != proxy || !auth::same_proof(d.proof(), proof)) {
            p2p_log().warn("[{}] direct stream from {} ({}) refused: its proof does not match "
                           "this path",
                           proxy, visitor, peer);
            return p->fail("refused: the proof does not match this direct path");
        }
        if (d.resume_id() != 0) return resume_session(home, p, d, proxy);
        const proxy_config* served = nullptr;
        for (const auto& pc : home.config->proxies)
            if (pc.name == proxy && pc.type == "secret" && pc.p2p) served = &pc;
        if (!served) return p->fail(fmt::format("direct paths are off for proxy {}", proxy));
        const auto n = next_direct_id.fetch_add(1, std::memory_order_relaxed);
        const auto id = direct_session_bit | n;
        const auto tag = fmt::format("[{}/p2p-{}]", proxy, n);
        v1::Frame answer;
        auto* v = answer.mutable_visited();
        v->set_tag(tag);
        v->set_client(home.config->client_id);
        v->set_session_id(id);
        p->send_head(answer.SerializeAsString());
        p->set_peer(visitor + "@" + peer);  // as the server names a relayed visit's user
        if (d.session_secret().size() == stream::pump::secret_size)
            p->set_resumable(d.session_secret(), &direct_owner, direct_resume_keep);
        if (home.sessions) home.sessions->add(id, p);
        list_direct(id, proxy, false, p);
        dial_local(p, *served, tag, fmt::format("visitor {} at {}", visitor, peer),
                   std::chrono::seconds(home.config->transport.dial_timeout));
    });
}

// ---- the visitor's re-attaches ----

direct_resumer::direct_resumer(boost::asio::any_io_executor ex, link_finder links, relay_path relay,
                               stream::registry& sessions, moved_notice moved)
    : ex_(std::move(ex)),
      links_(std::move(links)),
      relay_(std::move(relay)),
      sessions_(sessions),
      moved_(std::move(moved)),
      timer_(ex_) {}

void direct_resumer::keep(const std::shared_ptr<stream::pump>& p, std::uint64_t id,
                          const std::string& secret, const visitor_config& v) {
    {
        std::lock_guard lock(mutex_);
        known_[id] = {v.name, v.server_name, id};
    }
    p->set_resumable(secret, &direct_owner, direct_resume_keep, weak_from_this(), id);
    p->on_end([self = weak_from_this(), id] {
        if (auto s = self.lock()) {
            std::lock_guard lock(s->mutex_);
            s->known_.erase(id);
            s->detached_.erase(id);
            s->movable_.erase(id);
            s->moving_.erase(id);
        }
    });
}

void direct_resumer::movable(const std::shared_ptr<stream::pump>& p, std::uint64_t id,
                             std::uint64_t home_id, const std::string& move_secret,
                             const visitor_config& v) {
    if (move_secret.size() != stream::pump::secret_size) return;
    std::lock_guard lock(mutex_);
    movable_[id] = {{v.name, v.server_name, home_id}, move_secret, p};
    p->on_end([self = weak_from_this(), id] {
        if (auto s = self.lock()) {
            std::lock_guard held(s->mutex_);
            s->movable_.erase(id);
        }
    });
    schedule();
}

void direct_resumer::detached(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    if (!known_.count(id)) return;
    detached_.emplace(id, pending{});  // an attempt under way stays so
    schedule();
}

void direct_resumer::schedule() {
    if (std::exchange(polling_, true)) return;
    timer_.expires_after(std::chrono::milliseconds(100));
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (!ec) self->poll();
    });
}

// Relayed visits whose visitor has a ready direct path move onto it: the
// session becomes a direct one (the move secret is its secret now, the
// home's id its id there) and detaches from the relay; poll() re-attaches
// it on the path like any direct session whose path died.
void direct_resumer::move_ready() {
    std::vector<std::pair<std::uint64_t, move>> ready;
    {
        std::lock_guard lock(mutex_);
        for (auto& [id, m] : movable_) ready.emplace_back(id, m);
    }
    for (auto& [id, m] : ready) {
        auto p = m.session.lock();
        if (!p || !links_(m.w.visitor)) continue;
        if (p->detached()) continue;  // the relay's own resumption is under way: later
        {
            std::lock_guard lock(mutex_);
            movable_.erase(id);
            known_[id] = m.w;
            moving_.insert(id);
        }
        p2p_log().info("{} moves onto the direct path", p->describe().tag);
        p->set_resumable(m.secret, &direct_owner, direct_resume_keep, weak_from_this(), id);
        p->detach();  // -> detached(id): re-attached on the path by the next poll
    }
}

// While sessions wait: each whose visitor has a ready path again is
// re-attached there; one that waited relay_after for it goes on over the relay.
void direct_resumer::poll() {
    move_ready();
    struct due_one {
        std::uint64_t id;
        waiting w;
        bool relay_time;
    };
    std::vector<due_one> due;
    const auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mutex_);
        for (auto it = detached_.begin(); it != detached_.end(); ++it) {
            if (it->second.trying) continue;
            auto k = known_.find(it->first);
            if (k != known_.end()) due.push_back({it->first, k->second, now - it->second.since >= relay_after});
        }
    }
    for (const auto& d : due) {
        auto p = sessions_.find(d.id);
        if (!p || !p->detached()) continue;
        auto link = links_(d.w.visitor);
        if (!link && !(d.relay_time && relay_)) continue;
        {
            std::lock_guard lock(mutex_);
            detached_[d.id].trying = true;
        }
        if (link) {
            attempt(d.id, p, link, d.w.proxy);
        } else {
            p2p_log().info("{} no direct path for {:.1f} s: going on over the relay", p->describe().tag,
                           std::chrono::duration<double>(relay_after).count());
            relay_(d.w.home_id, p, d.w.visitor,
                   [self = shared_from_this(), id = d.id](bool settled) { self->attempt_over(id, settled); });
        }
    }
    std::lock_guard lock(mutex_);
    if (detached_.empty() && movable_.empty()) {
        polling_ = false;
        return;
    }
    timer_.expires_after(std::chrono::milliseconds(200));
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (!ec) self->poll();
    });
}

void direct_resumer::attempt(std::uint64_t id, const std::shared_ptr<stream::pump>& session,
                             const std::shared_ptr<quic::link>& link, const std::string& proxy) {
    auto* c = link->open_stream();
    if (!c) return attempt_over(id, false);
    auto fresh = std::make_shared<stream::pump>(ex_);
    fresh->attach(c);
    c->set_events(fresh);
    v1::Frame head;
    auto* d = head.mutable_direct();
    d->set_proxy(proxy);
    d->set_proof(link->proof());
    d->set_session_secret(session->resume_secret());
    std::uint64_t home_id = id;
    {
        std::lock_guard lock(mutex_);
        if (auto k = known_.find(id); k != known_.end()) home_id = k->second.home_id;
    }
    d->set_resume_id(home_id);
    const auto held = session->received_so_far();
    d->set_received(held.received);
    d->set_received_fin(held.fin);
    std::weak_ptr<stream::pump> weak = fresh;
    auto self = shared_from_this();
    // Settled once: re-attached, or the session given up; otherwise (the
    // stream broke first) the next poll tries again.
    auto settled = std::make_shared<std::atomic<bool>>(false);
    fresh->on_end([self, id, settled] { self->attempt_over(id, *settled); });
    fresh->read_head(
        [weak, session, settled, self, id](std::string serialized) {
            auto p = weak.lock();
            if (!p) return;
            const auto answer = frame_codec::decode_resume_head(serialized);
            if (!answer || answer->which != frame_codec::f_resumed)
                return p->close("protocol error: expected resumed");
            *settled = true;
            self->on_path(id);
            p->hand_over([session, theirs = answer->point](stream::carrier* carrier) {
                if (!carrier) return session->reset("re-attach failed: the stream broke");
                if (auto err = session->reattach(carrier, theirs); !err.empty()) {
                    carrier->finish(false);
                    session->reset("re-attach failed: " + err);
                }
            });
        },
        [session, settled](std::string why) {
            *settled = true;
            session->reset("the home client: " + printable(why.substr(0, 200)));
        });
    fresh->send_head(head.SerializeAsString());
}

// Session `id` re-attached on a direct path: if it came from the relay,
// the server may let go of the visit now.
void direct_resumer::on_path(std::uint64_t id) {
    {
        std::lock_guard lock(mutex_);
        if (!moving_.erase(id)) return;
    }
    if (moved_) moved_(id);
}

// An attempt ended: settled (re-attached, or the session given up) it is
// done; otherwise the next poll tries again.
void direct_resumer::attempt_over(std::uint64_t id, bool settled) {
    std::lock_guard lock(mutex_);
    auto it = detached_.find(id);
    if (it == detached_.end()) return;
    if (settled)
        detached_.erase(it);
    else
        it->second.trying = false;
}

}  // namespace burrow
