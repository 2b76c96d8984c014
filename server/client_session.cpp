#include "server/client_session.hpp"

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <grpcpp/support/status.h>

#include "burrow.pb.h"
#include "common/auth.hpp"
#include "common/grpc/message_queue.hpp"
#include "common/host_names.hpp"
#include "common/log.hpp"
#include "common/p2p/candidates.hpp"
#include "common/net_util.hpp"
#include "common/stream/pump.hpp"
#include "common/stream/splice.hpp"
#include "server/grpc/service.hpp"
#include "server/server_state.hpp"
#include "server/tcp_proxy.hpp"

namespace burrow {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
constexpr auto login_timeout = 10s;

spdlog::logger& ctl_log() {
    static spdlog::logger& l = log::get("control");
    return l;
}
spdlog::logger& proxy_log() {
    static spdlog::logger& l = log::get("proxy");
    return l;
}

}  // namespace

struct client_session::messages {
    v1::ClientMessage in;
    message_queue<v1::ServerMessage> out;
};

client_session::client_session(server_state& st, control_reactor* reactor, std::string peer)
    : st_(st),
      strand_(asio::make_strand(st.io)),
      reactor_(reactor),
      peer_(std::move(peer)),
      number_(st.next_session_no++),
      msgs_(std::make_shared<messages>()),
      started_(std::chrono::steady_clock::now()),
      last_seen_(started_),
      tick_timer_(strand_),
      pool_(
          [this](std::uint32_t count) {
              v1::ServerMessage msg;
              msg.mutable_new_work()->set_count(count);
              send(std::move(msg));
          },
          [this] { paired_one(); }, st.sessions) {}

client_session::~client_session() = default;

std::string client_session::who() const {
    return client_id_.empty() ? fmt::format("#{} {}", number_, peer_)
                              : fmt::format("#{} {} ({})", number_, client_id_, peer_);
}

void client_session::start() {
    asio::post(strand_, [self = shared_from_this()] {
        self->read_next();
        self->tick();
    });
}

// ---- Control stream ----

void client_session::read_next() {
    if (finished_ || phase_ == phase::closed || retiring_ > 0) return;
    reactor_->StartRead(&msgs_->in);
}

void client_session::on_read_done(control_reactor* from, bool ok) {
    asio::post(strand_, [self = shared_from_this(), from, ok] {
        if (self->phase_ == phase::closed || from != self->reactor_) return;
        if (!ok) return self->stream_lost("control stream closed by the client", true);
        self->last_seen_ = std::chrono::steady_clock::now();
        self->handle(self->msgs_->in);
        self->read_next();
    });
}

void client_session::on_write_done(control_reactor* from, bool ok) {
    asio::post(strand_, [self = shared_from_this(), from, ok] {
        if (from != self->reactor_) return;
        auto& out = self->msgs_->out;
        if (!ok || (self->finish_pending_ && out.empty())) {
            out.clear();  // nothing more goes out
            out.written();
            if (self->finish_pending_) return self->finish_rpc();
            return self->stream_lost("control stream write failed", false);
        }
        if (const auto* next = out.written()) self->reactor_->StartWrite(next);
    });
}

void client_session::on_cancel(control_reactor* from) {
    asio::post(strand_, [self = shared_from_this(), from] {
        if (from != self->reactor_) return;
        self->stream_lost("control stream cancelled", false);
    });
}

void client_session::send(v1::ServerMessage msg) {
    if (finished_ || finish_pending_) return;
    if (const auto* now = msgs_->out.push(std::move(msg))) reactor_->StartWrite(now);
}

void client_session::post_message(v1::ServerMessage msg) {
    asio::post(strand_, [self = shared_from_this(), msg = std::move(msg)]() mutable {
        if (self->phase_ == phase::active) self->send(std::move(msg));
    });
}

void client_session::finish_rpc() {
    if (finished_) return;
    finished_ = true;
    finish_pending_ = false;
    auto* r = std::exchange(reactor_, nullptr);
    r->finish();
}

// ---- messages ----

void client_session::handle(v1::ClientMessage& msg) {
    using M = v1::ClientMessage;
    if (phase_ == phase::login) {
        if (msg.msg_case() != M::kLogin) {
            ctl_log().warn("client {}: protocol error: first message is not a login", who());
            return shutdown("protocol error", false);
        }
        return handle_login(msg.login());
    }
    switch (msg.msg_case()) {
        case M::kRegisterProxy: return handle_register(msg.register_proxy());
        case M::kCloseProxy: return handle_close_proxy(msg.close_proxy().name());
        case M::kLogout:
            return shutdown(fmt::format("logged out ({})",
                                        printable(msg.logout().reason().substr(0, 80))),
                            true);
        case M::kPunchRequest: {
            const auto source = p2p::parse(peer_);  // "ip:port" of the Control stream
            return st_.punches.request(shared_from_this(), msg.punch_request(),
                                       source ? source->address() : asio::ip::address());
        }
        case M::kPunchAnswer: {
            const auto source = p2p::parse(peer_);
            return st_.punches.answer(shared_from_this(), msg.punch_answer(),
                                      source ? source->address() : asio::ip::address());
        }
        case M::kDirectReport: return direct_report(msg.direct_report());
        case M::kSessionMoved: {
            // Only an end of the visit may end it (splice::moved checks).
            auto s = st_.find_splice(msg.session_moved().session_id());
            if (!s || !s->moved(this))
                ctl_log().info("client {}: session {} it says moved is not one of its visits: "
                               "ignored", who(), msg.session_moved().session_id());
            return;
        }
        case M::kHeartbeat: {
            v1::ServerMessage reply;
            reply.mutable_heartbeat()->set_sent_at_ms(msg.heartbeat().sent_at_ms());
            return send(std::move(reply));
        }
        default:
            ctl_log().warn("client {}: protocol error: unexpected message {}", who(),
                           static_cast<int>(msg.msg_case()));
            return shutdown("protocol error", false);
    }
}

void client_session::refuse_login(const std::string& why) {
    st_.live.login_failed();
    v1::ServerMessage reply;
    auto* result = reply.mutable_login_result();
    result->set_ok(false);
    result->set_error(why);
    send(std::move(reply));
    shutdown("login rejected", true);
}

void client_session::handle_login(const v1::Login& login) {
    const auto now = std::chrono::steady_clock::now();
    const auto source = p2p::parse(peer_);  // "ip:port" of the Control stream
    const auto address = source ? source->address() : asio::ip::address();
    // An address that failed too often is refused unchecked for a while: a
    // token cannot be guessed at the speed of the network.
    if (const auto wait = st_.login_failures.blocked_for(address, now); wait.count() > 0) {
        ctl_log().debug("login from {} refused unchecked: too many failed logins", peer_);
        return refuse_login(fmt::format(
            "login rejected: too many failed logins from this address; try again in {} s",
            wait.count()));
    }
    auto verdict = st_.verifier.check(login.client_id(), login.timestamp(), login.nonce(),
                                      login.proof(), auth::unix_now());
    if (verdict != auth::verdict::ok) {
        // The client id is untrusted input: escaped and cut in the log.
        ctl_log().warn("login rejected from {}: {} (client id '{}')", peer_,
                       auth::to_string(verdict), printable(login.client_id()));
        st_.login_failures.failed(address, now);
        if (st_.login_failures.blocked_for(address, now).count() > 0)
            ctl_log().warn("{} failed logins from {} within a minute: its logins are refused "
                           "unchecked for the rest of that minute",
                           st_.settings()->max_login_failures, address.to_string());
        return refuse_login(fmt::format("login rejected: {}", auth::to_string(verdict)));
    }
    st_.login_failures.forgive(address);

    // Only shown in logs; even with the token, a client id may not forge a line.
    client_id_ = printable(login.client_id());
    credential_ = st_.verifier.credential(client_id_);
    client_version_ = printable(login.version().substr(0, 32));
    reactor_->logged_in();
    pool_.set_target(std::clamp<std::size_t>(login.pool_count(), 1, 64));
    if (take_over_previous(login)) return;  // the stream went to the run it named
    // A new run. Its own earlier runs (a restart) are replaced below and do not count.
    if (const auto max = st_.settings()->max_clients; max && st_.runs_of_others(client_id_) >= max) {
        ctl_log().warn("login of {} refused: max_clients ({}) clients are logged in", who(), max);
        return refuse_login(
            fmt::format("login rejected: the server is full (max_clients {} clients are logged in)",
                        max));
    }
    run_id_ = random_hex(16);
    phase_ = phase::active;
    // A client that restarted while a run of its own is away: that run ends
    // first, so that its names and ports are free for this one.
    for (auto& old : st_.runs_of(client_id_)) {
        if (!old->away()) continue;
        ++retiring_;
        old->retire(fmt::format("replaced by a new login from {}", peer_),
                    [self = shared_from_this()] {
                        asio::post(self->strand_, [self] {
                            if (--self->retiring_ > 0 || self->phase_ != phase::active) return;
                            self->complete_login();
                            self->read_next();
                        });
                    });
    }
    if (retiring_ == 0) complete_login();
}

// A login that names a run this server still keeps, of the same client: the
// Control stream moves to that run (resume_run), and this session, which
// never was a run, is done.
bool client_session::take_over_previous(const v1::Login& login) {
    if (login.previous_run_id().empty()) return false;
    auto old = st_.find_run(login.previous_run_id());
    if (!old) return false;
    if (st_.config.resume_timeout == 0 || old->client_id() != client_id_) {
        // The same client process reconnected before we noticed its old
        // connection die: free the old run's ports for it right away.
        old->kick(fmt::format("replaced by a new login from {}", peer_));
        return false;
    }
    phase_ = phase::closed;
    finished_ = true;  // the stream is the old run's now
    tick_timer_.cancel();
    auto* r = std::exchange(reactor_, nullptr);
    r->hand_to(old);
    old->resume_run(r, peer_, pool_.target());
    return true;
}

void client_session::complete_login() {
    st_.add_run(run_id_, shared_from_this());
    st_.live.client_up({number_, client_id_, peer_, client_version_, live::unix_now()});
    pool_.set_resume(this, std::chrono::seconds(st_.config.resume_timeout));
    ctl_log().info("client login: {} version {}", who(), client_version_);
    v1::ServerMessage reply;
    auto* result = reply.mutable_login_result();
    result->set_ok(true);
    result->set_run_id(run_id_);
    result->set_resume_timeout(st_.config.resume_timeout);
    result->set_rendezvous_port(st_.rendezvous_port.load());
    send(std::move(reply));
}

void client_session::resume_run(control_reactor* r, std::string peer, std::size_t pool_count) {
    asio::post(strand_, [self = shared_from_this(), r, peer = std::move(peer), pool_count] {
        self->continue_run(r, peer, pool_count);
    });
}

void client_session::continue_run(control_reactor* r, const std::string& peer,
                                  std::size_t pool_count) {
    const auto now = std::chrono::steady_clock::now();
    // The stream this run had, if it has not ended yet (a silent cut, or a
    // finish waiting for a write), is left to end by itself.
    if (!finished_) {
        std::exchange(reactor_, nullptr)->abandon(msgs_->out.writing(), msgs_);
        finished_ = true;
    }
    msgs_ = std::make_shared<messages>();
    reactor_ = r;
    finished_ = finish_pending_ = false;
    peer_ = peer;
    v1::ServerMessage reply;
    auto* result = reply.mutable_login_result();
    if (phase_ == phase::closed) {
        // Ended meanwhile (resume_timeout ran out): the client logs in afresh.
        result->set_ok(false);
        result->set_error("the previous run has ended; log in again");
        send(std::move(reply));
        return finish_stream(true);
    }
    const auto gap = phase_ == phase::away ? now - away_since_ : std::chrono::nanoseconds(0);
    // Taken over while active (its old connection went silent without us
    // noticing yet): its idle Work streams are on that connection too.
    if (phase_ == phase::active) pool_.close_idle("replaced by a new connection");
    phase_ = phase::active;
    away_flag_ = false;
    st_.live.client_back(number_, peer_);
    last_seen_ = now;
    pool_.set_target(pool_count);
    pool_.resumed();
    ctl_log().info("client {} back after {} ms: run resumed, {} proxies kept", who(),
                   std::chrono::duration_cast<std::chrono::milliseconds>(gap).count(),
                   proxies_.size());
    result->set_ok(true);
    result->set_run_id(run_id_);
    result->set_resumed(true);
    result->set_resume_timeout(st_.config.resume_timeout);
    result->set_rendezvous_port(st_.rendezvous_port.load());
    send(std::move(reply));
    read_next();
}

// ---- timers ----

void client_session::tick() {
    if (phase_ == phase::closed) return;
    const auto now = std::chrono::steady_clock::now();
    if (phase_ == phase::login && now - started_ > login_timeout) {
        ctl_log().warn("client {}: no login within {} s", who(), login_timeout.count());
        return shutdown("login timeout", false);
    }
    const auto settings = st_.settings();
    if (phase_ == phase::active &&
        now - last_seen_ > std::chrono::seconds(settings->heartbeat_timeout))
        stream_lost(fmt::format("no heartbeat for {} s", settings->heartbeat_timeout), false);
    if (phase_ == phase::closed) return;
    // An away run is kept alive by this timer alone.
    if (phase_ == phase::away && now - away_since_ > std::chrono::seconds(st_.config.resume_timeout))
        return shutdown(fmt::format("did not come back within {} s", st_.config.resume_timeout),
                        false);

    pool_.tick(now, std::chrono::seconds(settings->work_timeout), who());

    tick_timer_.expires_after(1s);
    tick_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (!ec) self->tick();
    });
}

// ---- data plane ----

void client_session::offer_work(std::shared_ptr<stream::pump> work, bool asked) {
    asio::post(strand_, [self = shared_from_this(), work = std::move(work), asked]() mutable {
        if (self->phase_ == phase::closed || self->phase_ == phase::login)
            return work->close("session closed");
        self->pool_.offer(std::move(work), asked);
    });
}

conn_limits::ticket client_session::admit(const boost::asio::ip::address& source,
                                          const std::string& proxy, std::string& why) {
    return st_.limits.admit(source, proxy, why);
}

bool client_session::connect(std::string proxy, std::string peer, work_pool::local_end end,
                             bool quiet, const visit_end* visit, conn_limits::ticket admission) {
    const bool room = ++waiting_ < st_.settings()->max_pending_connections;
    work_pool::request r{std::move(proxy), visit ? visit->id : st_.next_conn_id++,
                         std::move(peer), std::move(end), quiet, !visit, {}, {}, {}, {}, {}, {}};
    if (visit) {
        r.splice_secret = visit->secret;
        r.resume_direct = visit->resume_direct;
        r.move_secret = visit->move_secret;
    }
    if (!visit)  // a visit is listed by its splice
        r.listing = st_.live.open(r.conn_id, r.proxy, client_id_, number_, r.peer);
    r.admission = std::move(admission);
    asio::post(strand_, [self = shared_from_this(), r = std::move(r)]() mutable {
        self->pool_.add(std::move(r));
    });
    return room;
}

void client_session::paired_one() {
    // On the way back under the limit, let paused proxies accept again.
    if (waiting_-- == st_.settings()->max_pending_connections)
        for (auto& [_, proxy] : proxies_)
            if (proxy) proxy->resume();
}

// ---- ending ----

bool client_session::reloaded() {
    // A published run: its id and credential were set before it was.
    const bool revoked = st_.verifier.credential(client_id_) != credential_;
    asio::post(strand_, [self = shared_from_this(), revoked] {
        if (self->phase_ == phase::closed) return;
        if (revoked)
            return self->shutdown("its token was changed or removed by a reload (revoked)", true);
        for (auto& [_, proxy] : self->proxies_)
            if (proxy) proxy->resume();  // one still at the limit pauses again
    });
    return revoked;
}

void client_session::stop_accepting() {
    asio::post(strand_, [self = shared_from_this()] {
        for (auto& [_, proxy] : self->proxies_)
            if (proxy) proxy->stop();
    });
}

void client_session::kick(std::string reason) {
    asio::post(strand_, [self = shared_from_this(), reason = std::move(reason)] {
        self->shutdown(reason, true);
    });
}

void client_session::retire(std::string reason, std::function<void()> done) {
    asio::post(strand_, [self = shared_from_this(), reason = std::move(reason),
                         done = std::move(done)]() mutable {
        // The listeners close on their own strands: `done` follows the last.
        std::vector<std::shared_ptr<tcp_proxy>> listeners;
        for (auto& [_, proxy] : self->proxies_)
            if (proxy) listeners.push_back(proxy);
        self->shutdown(reason, false);
        auto left = std::make_shared<std::size_t>(listeners.size());
        if (listeners.empty()) return done();
        auto shared_done = std::make_shared<std::function<void()>>(std::move(done));
        for (auto& l : listeners)
            l->when_stopped([left, shared_done] {
                if (--*left == 0) (*shared_done)();
            });
    });
}

// The Control stream broke (or went silent): the run waits for its client
// for resume_timeout, with its proxies and sessions, unless resumption is off.
void client_session::stream_lost(const std::string& reason, bool graceful) {
    // The stream is lost already; the rest of its end (the read that fails,
    // the cancel a stuck write needed) arrives after, and changes nothing.
    if (phase_ == phase::away) return;
    if (phase_ != phase::active || st_.config.resume_timeout == 0)
        return shutdown(reason, graceful);
    phase_ = phase::away;
    away_flag_ = true;
    st_.live.client_away(number_);
    away_since_ = std::chrono::steady_clock::now();
    pool_.close_idle("control stream lost");  // they were on the lost connection
    ctl_log().info("client {} away: {}; its run, {} proxies and sessions are kept for {} s",
                   who(), reason, proxies_.size(), st_.config.resume_timeout);
    finish_stream(graceful);
}

void client_session::shutdown(const std::string& reason, bool graceful) {
    if (phase_ != phase::closed) {
        const bool had_run = phase_ == phase::active || phase_ == phase::away;
        phase_ = phase::closed;
        away_flag_ = false;
        tick_timer_.cancel();
        if (had_run) {
            st_.remove_run(run_id_);
            st_.live.client_down(number_);
            for (auto& [name, proxy] : proxies_) {
                st_.live.proxy_down(name);
                if (proxy)
                    proxy->stop();
                else
                    remove_listenerless(name, false);
                st_.release_name(name, run_id_);
                proxy_log().info("[{}] proxy down: client {} gone", name, who());
            }
            proxies_.clear();
            pool_.close_all("session closed");
            end_sessions();
            ctl_log().info("client logout: {}: {}", who(), reason);
        } else {
            ctl_log().debug("control stream from {} ended before login: {}", peer_, reason);
        }
    }
    finish_stream(graceful);
}

// The run is over: its sessions can no longer be re-attached, and the
// detached ones are reset now rather than at the end of resume_timeout.
void client_session::end_sessions() {
    for (auto& p : st_.sessions.all())
        if (p->resume_owned_by(this)) p->end_resumption("its client has left");
    for (auto& s : st_.splices())
        if (s->involves(this)) s->close("a client of the visit has left");
}

void client_session::finish_stream(bool graceful) {
    if (finished_) return;
    // Finish may not overlap a write. A graceful end lets queued messages (a
    // rejection, say) reach the client first; otherwise a stuck write is
    // cancelled so that Finish can follow at once.
    finish_pending_ = true;
    if (!msgs_->out.writing())
        finish_rpc();
    else if (!graceful)
        reactor_->cancel();
}

// The home's sessions on direct paths, for the dashboard: only those of
// its own secret proxies are listed; the rest of the report is dropped.
void client_session::direct_report(const v1::DirectReport& report) {
    std::vector<live::direct_info> rows;
    for (const auto& r : report.sessions()) {
        if (!secrets_.count(r.proxy())) continue;
        rows.push_back({r.id(), r.proxy(), printable(r.peer().substr(0, 64)),
                        static_cast<double>(r.age_ms()) / 1000.0, r.bytes_in(), r.bytes_out(), r.moved(),
                        r.ended()});
    }
    st_.live.direct_report(number_, client_id_, std::move(rows),
                           [weak = weak_from_this()](std::uint64_t id, const std::string& why) {
                               auto self = weak.lock();
                               if (!self) return;
                               v1::ServerMessage msg;
                               msg.mutable_close_direct()->set_id(id);
                               msg.mutable_close_direct()->set_reason(why);
                               self->post_message(std::move(msg));
                           });
}

}  // namespace burrow
