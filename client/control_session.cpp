#include "client/control_session.hpp"

#include <unistd.h>

#include <boost/asio/post.hpp>
#include <grpcpp/channel.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "client/call_census.hpp"
#include "client/config_source.hpp"
#include "client/direct_session.hpp"
#include "client/p2p/punch_manager.hpp"
#include "client/resumer.hpp"
#include "client/work_stream.hpp"
#include "common/auth.hpp"
#include "common/config/client.hpp"
#include "common/host_names.hpp"
#include "common/log.hpp"
#include "common/protocol_limits.hpp"

#ifndef BURROW_VERSION
#define BURROW_VERSION "dev"
#endif

namespace burrow {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

void fill_spec(const proxy_config& p, v1::ProxySpec& spec) {
    spec.set_name(p.name);
    spec.set_type(p.type);
    spec.set_remote_port(p.remote_port);
    for (const auto& d : p.custom_domains) spec.add_custom_domains(d);
    spec.set_subdomain(p.subdomain);
    for (const auto& l : p.locations) spec.add_locations(l);
    spec.set_host_header_rewrite(p.host_header_rewrite);
    for (const auto& [k, v] : p.request_headers) (*spec.mutable_request_headers())[k] = v;
    for (const auto& [k, v] : p.response_headers) (*spec.mutable_response_headers())[k] = v;
    spec.set_http_user(p.http_user);
    spec.set_http_password(p.http_password);
    spec.set_response_timeout_ms(p.response_timeout * 1000);
    spec.set_response_idle_timeout_ms(p.response_idle_timeout * 1000);
    spec.set_allow_connect(p.allow_connect);
    if (p.type == "secret") {
        spec.set_visit_key(auth::visit_key(p.secret_key));  // the key itself stays here
        for (const auto& id : p.allow_clients) spec.add_allow_clients(id);
    }
}

spdlog::logger& ctl_log() {
    static spdlog::logger& l = log::get("control");
    return l;
}

bool contains(std::string_view text, std::string_view part) {
    return text.find(part) != std::string_view::npos;
}
}  // namespace

std::pair<std::string, session_end::failure_kind> describe_status(const grpc::Status& status) {
    using failure = session_end::failure_kind;
    const std::string message = status.error_message();  // a copy, not a reference
    std::string_view m = message;
    if (status.ok() && m.empty()) return {"connection closed", failure::none};
    // The server's own word (control_reactor.cpp), or gRPC's when it cancels
    // the calls of a server that stops.
    if (m == "server shutting down" || m == "Cancelling all calls")
        return {"the server is shutting down", failure::server_stopping};
    if (contains(m, "Connection refused"))
        return {"connection refused (is burrow-server running there?)", failure::none};
    if (contains(m, "Socket closed") || contains(m, "Connection reset") ||
        contains(m, "Broken pipe") || contains(m, "End of TCP stream"))
        return {"the server closed the connection", failure::closed};
    if (contains(m, "before receiving SETTINGS frame"))
        return {"the server accepted the connection but did not answer as burrow-server does",
                failure::closed};
    if (contains(m, "timed out") || contains(m, "Deadline Exceeded") ||
        contains(m, "Timeout occurred"))
        return {"no answer from the server (timed out)", failure::none};
    if (contains(m, "DNS resolution failed") || contains(m, "Domain name not found") ||
        contains(m, "Name or service not known"))
        return {"cannot resolve the server's name", failure::none};
    if (contains(m, "Network is unreachable") || contains(m, "No route to host"))
        return {"no route to the server (network unreachable)", failure::none};
    if (contains(m, "wrong version number") || contains(m, "WRONG_VERSION_NUMBER") ||
        contains(m, "packet length too long"))
        return {"TLS handshake failed: the server's answer is not TLS", failure::tls_handshake};
    if (contains(m, "CERTIFICATE_VERIFY_FAILED") || contains(m, "certificate verify failed"))
        return {"TLS handshake failed: the server's certificate is not signed by tls.ca_file",
                failure::none};
    // Otherwise gRPC's detail without its wrapping: "failed to connect to all
    // addresses; last error: UNKNOWN: ipv4:1.2.3.4:7000: <detail>".
    for (std::string_view prefix : {"failed to connect to all addresses; last error: "})
        if (m.starts_with(prefix)) m.remove_prefix(prefix.size());
    if (auto colon = m.find(": "); colon != std::string_view::npos && colon < 20 &&
                                   m.substr(0, colon).find_first_not_of(
                                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == std::string_view::npos)
        m.remove_prefix(colon + 2);  // the status code's name
    for (std::string_view scheme : {"ipv4:", "ipv6:"})
        if (m.starts_with(scheme)) {
            // "ipv4:1.2.3.4:7000: " and "ipv6:%5B::1%5D:7000: ": up to the ": " after the port.
            if (auto end = m.find(": "); end != std::string_view::npos) m.remove_prefix(end + 2);
        }
    if (contains(m, "andshake failed")) return {std::string(m), failure::tls_handshake};
    return {m.empty() ? std::string("connection closed") : std::string(m), failure::none};
}

// The Control RPC. A hold keeps OnDone away until the session lets go in end().
class client_control_reactor final
    : public grpc::ClientBidiReactor<v1::ClientMessage, v1::ServerMessage> {
public:
    client_control_reactor(v1::Tunnel::Stub& stub, std::shared_ptr<call_census> census,
                           std::shared_ptr<control_session> s)
        : census_(std::move(census)), session_(std::move(s)) {
        stub.async()->Control(&ctx_, this);
        census_.track(ctx_);
        AddHold();
        StartCall();
    }
    void finish() {
        ctx_.TryCancel();
        RemoveHold();
    }
    void OnReadDone(bool ok) override { session_->on_read_done(ok); }
    void OnWriteDone(bool ok) override { session_->on_write_done(ok); }
    void OnDone(const grpc::Status& s) override {
        session_->on_done(s);
        census_.done();
        delete this;
    }

private:
    call_census::entry census_;  // first: outlives ctx_
    grpc::ClientContext ctx_;
    std::shared_ptr<control_session> session_;
};

control_session::control_session(asio::io_context& io,
                                 std::shared_ptr<const config_source> config,
                                 std::shared_ptr<grpc::Channel> channel,
                                 std::shared_ptr<call_census> calls,
                                 std::function<std::shared_ptr<tracked_stub>()> work,
                                 std::string previous_run_id,
                                 std::shared_ptr<const client_config> registered,
                                 stream::registry& sessions,
                                 std::function<void(session_end)> on_end)
    : io_(io),
      sessions_(sessions),
      source_(std::move(config)),
      config_(source_->get()),
      registered_(std::move(registered)),
      strand_(asio::make_strand(io)),
      stub_(v1::Tunnel::NewStub(channel)),
      calls_(std::move(calls)),
      work_stub_(std::move(work)),
      previous_run_id_(std::move(previous_run_id)),
      on_end_(std::move(on_end)),
      tick_timer_(strand_) {}

control_session::~control_session() = default;

void control_session::start() {
    asio::post(strand_, [self = shared_from_this()] {
        self->started_ = self->last_seen_ = std::chrono::steady_clock::now();
        self->reactor_ = new client_control_reactor(*self->stub_, self->calls_, self);

        v1::ClientMessage msg;
        auto* login = msg.mutable_login();
        const auto& cfg = *self->config_;
        login->set_client_id(cfg.client_id);
        login->set_timestamp(auth::unix_now());
        login->set_nonce(auth::random_bytes(auth::nonce_size));
        login->set_proof(auth::make_proof(cfg.auth.token, cfg.client_id, login->timestamp(),
                                          login->nonce()));
        login->set_version(BURROW_VERSION);
        login->set_previous_run_id(self->previous_run_id_);
        login->set_pool_count(cfg.transport.pool_count);
        self->send(std::move(msg));
        self->read_next();
        self->tick();
    });
}

void control_session::stop(std::string reason) {
    asio::post(strand_, [self = shared_from_this(), reason = std::move(reason)] {
        if (!self->logged_in_ || self->ended_) return self->end(reason);
        v1::ClientMessage bye;
        bye.mutable_logout()->set_reason(reason);
        self->send(std::move(bye));
        self->leaving_ = true;
        self->leave_reason_ = reason;
        self->leave_at_ = std::chrono::steady_clock::now();
    });
}

void control_session::drop(std::string reason) {
    asio::post(strand_, [self = shared_from_this(), reason = std::move(reason)]() mutable {
        if (self->ended_) return;
        self->stale_ = true;
        self->end(std::move(reason));
    });
}

// ---- Control stream ----

void control_session::read_next() {
    if (!ended_) reactor_->StartRead(&in_);
}

void control_session::on_read_done(bool ok) {
    asio::post(strand_, [self = shared_from_this(), ok] {
        if (self->ended_) return;
        if (!ok) return self->end(self->leaving_ ? self->leave_reason_ : "");  // else OnDone says why
        self->last_seen_ = std::chrono::steady_clock::now();
        self->handle(self->in_);
        self->read_next();
    });
}

void control_session::on_write_done(bool ok) {
    asio::post(strand_, [self = shared_from_this(), ok] {
        if (self->ended_ || !ok) {
            self->out_.clear();  // nothing more goes out
            self->out_.written();
            return self->end("");
        }
        // Once the Logout is written the server ends the call; cancelling
        // now could drop the Logout before it reached the wire (a completed
        // write is only handed to the transport). tick() bounds the wait.
        if (const auto* next = self->out_.written()) self->reactor_->StartWrite(next);
    });
}

void control_session::on_done(const grpc::Status& status) {
    asio::post(strand_, [self = shared_from_this(), described = describe_status(status)] {
        self->report_end(described);
    });
}

void control_session::send(v1::ClientMessage msg) {
    if (ended_) return;
    if (const auto* now = out_.push(std::move(msg))) reactor_->StartWrite(now);
}

void control_session::send_punch(const punch_request_msg& m) {
    v1::ClientMessage msg;
    auto* r = msg.mutable_punch_request();
    r->set_request_id(m.request_id);
    r->set_server_name(m.server_name);
    r->set_server_client(m.server_client);
    r->set_timestamp(m.timestamp);
    r->set_nonce(m.nonce);
    r->set_proof(m.proof);
    for (const auto& c : m.candidates) r->add_candidates(c);
    r->set_mapping_varies(m.mapping_varies);
    asio::post(strand_, [self = shared_from_this(), msg = std::move(msg)]() mutable {
        if (self->logged_in_) self->send(std::move(msg));
    });
}

void control_session::close_proxies() {
    asio::post(strand_, [self = shared_from_this()] {
        if (!self->logged_in_ || !self->registered_) return;
        for (const auto& p : self->registered_->proxies) {
            v1::ClientMessage msg;
            msg.mutable_close_proxy()->set_name(p.name);
            self->send(std::move(msg));
        }
    });
}

void control_session::sync() {
    asio::post(strand_, [self = shared_from_this()] { self->sync_now(); });
}

void control_session::sync_now() {
    if (!logged_in_ || leaving_ || ended_) return;
    auto next = source_->get();
    if (next == registered_) return;
    const auto find = [](const client_config& c, const std::string& name) -> const proxy_config* {
        for (const auto& p : c.proxies)
            if (p.name == name) return &p;
        return nullptr;
    };
    const client_config none;
    const auto& was = registered_ ? *registered_ : none;
    for (const auto& p : was.proxies) {
        const auto* now = find(*next, p.name);
        if (now && *now == p) continue;
        v1::ClientMessage msg;
        msg.mutable_close_proxy()->set_name(p.name);
        send(std::move(msg));
        log::get("proxy").info("[{}] proxy {} by a reload", p.name, now ? "changed" : "removed");
        if (!now && on_proxy_) on_proxy_(p.name, {});
    }
    for (const auto& p : next->proxies) {
        const auto* before = find(was, p.name);
        if (before && *before == p) continue;
        register_proxy(p);
    }
    registered_ = std::move(next);
}

void control_session::register_proxy(const proxy_config& p) {
    v1::ClientMessage reg;
    auto* spec = reg.mutable_register_proxy();
    spec->set_name(p.name);
    fill_spec(p, *spec);
    send(std::move(reg));
}

void control_session::send_moved(std::uint64_t session_id) {
    v1::ClientMessage msg;
    msg.mutable_session_moved()->set_session_id(session_id);
    asio::post(strand_, [self = shared_from_this(), msg = std::move(msg)]() mutable {
        if (self->logged_in_) self->send(std::move(msg));
    });
}

void control_session::send_punch(const punch_answer_msg& m) {
    v1::ClientMessage msg;
    auto* a = msg.mutable_punch_answer();
    a->set_punch_id(m.punch_id);
    a->set_error(m.error);
    a->set_cert_sha256(m.cert_sha256);
    for (const auto& c : m.candidates) a->add_candidates(c);
    a->set_mapping_varies(m.mapping_varies);
    asio::post(strand_, [self = shared_from_this(), msg = std::move(msg)]() mutable {
        if (self->logged_in_) self->send(std::move(msg));
    });
}

void control_session::end(std::string reason) {
    if (ended_) return;
    ended_ = true;
    end_reason_ = std::move(reason);
    tick_timer_.cancel();
    out_.clear();
    std::exchange(reactor_, nullptr)->finish();
    // A stale connection may hold the call's last write for as long as TCP
    // keeps retrying: the client moves on now, not when gRPC is done with it.
    if (stale_) report_end({});
}

void control_session::report_end(const std::pair<std::string, session_end::failure_kind>& described) {
    auto cb = std::move(on_end_);
    if (!cb) return;  // told already
    session_end e;
    e.logged_in = logged_in_;
    e.run_id = run_id_;
    e.forget_run = login_rejected_;
    e.resume_timeout = resume_timeout_.load();
    e.reason = end_reason_;
    if (e.reason.empty()) std::tie(e.reason, e.failure) = described;
    e.stale_connection = stale_;
    e.registered = registered_;
    cb(std::move(e));
}

// ---- messages ----

void control_session::handle(const v1::ServerMessage& msg) {
    using M = v1::ServerMessage;
    switch (msg.msg_case()) {
        case M::kLoginResult: {
            const auto& r = msg.login_result();
            if (logged_in_) return end("protocol error: second login result");
            if (!r.ok()) {
                login_rejected_ = true;
                ctl_log().error("login failed: the server answered '{}' (check [auth] token "
                                "and the clock)", r.error().substr(0, 200));
                return end("login rejected");
            }
            logged_in_ = true;
            run_id_ = r.run_id();
            resume_timeout_ = r.resume_timeout();
            // A port past 65534 has no second port: no rendezvous.
            const auto rendezvous = r.rendezvous_port() < 65535 ? r.rendezvous_port() : 0;
            if (on_login_)
                on_login_({run_id_, r.resume_timeout(), static_cast<std::uint16_t>(rendezvous)});
            // Said once the client holds its run id: from this line on, a
            // visitor's connection is carried.
            ctl_log().info("logged in to {}:{} as {}{}", config_->server_addr,
                           config_->server_port, config_->client_id,
                           r.resumed() ? " (run resumed: proxies kept)" : "");
            // A resumed run keeps its proxies: only a reload meanwhile changes them.
            if (!r.resumed() || !registered_) {
                registered_ = source_->get();
                for (const auto& p : registered_->proxies) register_proxy(p);
            }
            sync_now();
            return top_up();
        }
        case M::kProxyResult: {
            const auto& r = msg.proxy_result();
            auto& l = log::get("proxy");
            // Texts from the server are cut; the log sink escapes control characters.
            const auto name = printable(r.name());
            std::string state;
            if (r.ok() && r.urls_size() == 0 && r.remote_port() == 0)
                state = "up: secret, reached through visitors";
            else if (r.ok() && r.urls_size() > 0)
                state = fmt::format("up: {}", fmt::join(r.urls(), ", "));
            else if (r.ok())
                state = fmt::format("up: remote port {}", r.remote_port());
            else
                state = "rejected: " + r.error().substr(0, 200);
            l.log(r.ok() ? spdlog::level::info : spdlog::level::err, "[{}] proxy {}", name, state);
            if (on_proxy_) on_proxy_(name, state);
            return;
        }
        case M::kHeartbeat: return;
        case M::kNewWork:
            if (logged_in_)
                open_work(std::min(msg.new_work().count(), protocol::max_new_work), true);
            return;
        case M::kPunchOffer: {
            const auto& o = msg.punch_offer();
            if (!logged_in_ || !punches_) return;
            punch_offer_msg m{o.punch_id(), printable(o.proxy().substr(0, 64)),
                              printable(o.visitor().substr(0, 64)), o.nonce(),
                              {o.candidates().begin(), o.candidates().end()},
                              o.mapping_varies()};
            return punches_->on_offer(m);
        }
        case M::kCloseDirect: {
            if (!logged_in_) return;
            const auto& c = msg.close_direct();
            close_home_direct(c.id(), "closed from the server: " + printable(c.reason().substr(0, 200)));
            return;
        }
        case M::kPunchStart: {
            const auto& st = msg.punch_start();
            if (!logged_in_ || !punches_) return;
            punches_->on_start({st.request_id(), st.punch_id(),
                                {st.candidates().begin(), st.candidates().end()},
                                printable(st.error().substr(0, 200)), st.cert_sha256(),
                                st.mapping_varies()});
            return;
        }
        default: return end("protocol error: unexpected message from the server");
    }
}

// ---- timers and the work pool ----

void control_session::tick() {
    if (ended_) return;
    const auto now = std::chrono::steady_clock::now();
    const auto& t = config_->transport;
    if (!logged_in_ && now - started_ > std::chrono::seconds(t.dial_timeout))
        return end(fmt::format("no login answer within {} s", t.dial_timeout));
    if (leaving_ && now - leave_at_ > 1s) return end(leave_reason_);  // the Logout is stuck
    if (logged_in_) {
        if (now - last_seen_ > std::chrono::seconds(t.heartbeat_timeout)) {
            stale_ = true;
            return end(fmt::format("server silent for {} s", t.heartbeat_timeout));
        }
        if (now - last_ping_ >= std::chrono::seconds(t.heartbeat_interval)) {
            last_ping_ = now;
            v1::ClientMessage ping;
            ping.mutable_heartbeat()->set_sent_at_ms(
                std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch())
                    .count());
            send(std::move(ping));
        }
        top_up();  // replaces idle streams that died
        report_direct();
    }
    tick_timer_.expires_after(1s);
    tick_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (!ec) self->tick();
    });
}

// The server's dashboard lists our direct sessions (which it never
// carries) from these reports: every second while there are any, and once
// empty after the last.
void control_session::report_direct() {
    auto rows = home_direct_sessions(protocol::max_direct_report);
    if (rows.empty() && !std::exchange(reported_direct_, false)) return;
    reported_direct_ = !rows.empty();
    v1::ClientMessage msg;
    auto* report = msg.mutable_direct_report();
    for (auto& r : rows) {
        auto* s = report->add_sessions();
        s->set_id(r.id);
        s->set_proxy(std::move(r.proxy));
        s->set_peer(std::move(r.peer));
        s->set_age_ms(static_cast<std::uint64_t>(r.age_seconds * 1000));
        s->set_bytes_in(r.bytes_in);
        s->set_bytes_out(r.bytes_out);
        s->set_moved(r.moved);
        s->set_ended(r.ended);
    }
    send(std::move(msg));
}

void control_session::top_up() {
    if (idle_work_ < config_->transport.pool_count)
        open_work(config_->transport.pool_count - idle_work_, false);
}

void control_session::open_work(std::uint32_t n, bool asked) {
    if (ended_) return;
    for (std::uint32_t i = 0; i < n; ++i) {
        ++idle_work_;
        open_work_stream(work_stub_(), io_.get_executor(), source_, run_id_, asked, sessions_,
                         weak_from_this());
    }
}

// The server asks for a replacement (NewWork) as it takes a stream into use:
// it knows how many it awaits, so a burst brings no surplus.
void control_session::on_work_started() {
    asio::post(strand_, [self = shared_from_this()] {
        if (self->idle_work_ > 0) --self->idle_work_;
    });
}

void control_session::make_resumable(const std::shared_ptr<stream::pump>& p, std::uint64_t id,
                                     const std::string& secret) {
    if (resumer_)
        resumer_->make_resumable(p, id, secret, std::chrono::seconds(resume_timeout_.load()));
}

void control_session::on_work_lost() {
    asio::post(strand_, [self = shared_from_this()] {
        // Replaced on the next tick, not at once: a server refusing streams
        // must not turn this into a busy loop.
        if (self->idle_work_ > 0) --self->idle_work_;
    });
}

}  // namespace burrow
