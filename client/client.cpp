#include "client/client.hpp"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <grpcpp/grpcpp.h>

#include "client/admin.hpp"
#include "client/config_source.hpp"
#include "client/reload.hpp"
#include "client/server_channel.hpp"
#include "client/call_census.hpp"
#include "client/channel_pool.hpp"
#include "client/control_session.hpp"
#include "client/json_text.hpp"
#include "client/p2p/path_status.hpp"
#include "client/direct_session.hpp"
#include "client/p2p/punch_manager.hpp"
#include "client/resumer.hpp"
#include "client/route_watch.hpp"
#include "client/status.hpp"
#include "client/visitor_set.hpp"
#include "common/config/client.hpp"
#include "common/heap_release.hpp"
#include "common/io_threads.hpp"
#include "common/stream/pump.hpp"
#include "common/stream/registry.hpp"
#include "common/log.hpp"
#include "common/net_util.hpp"
#include "common/tls.hpp"

namespace burrow {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct client::impl {
    explicit impl(std::shared_ptr<const client_config> c)
        : config(std::move(c)), source(std::make_shared<config_source>(config)) {}

    // The snapshot this client started with: the server, auth, tls, transport
    // and admin keys, which take a restart to change.
    std::shared_ptr<const client_config> config;
    // The proxies and visitors in force (a reload publishes new ones).
    std::shared_ptr<config_source> source;
    std::mutex reload_mutex;  // one reload at a time
    // The proxies the server holds for our run, from the last Control stream
    // that logged in (on the strand): a resumed run starts from them.
    std::shared_ptr<const client_config> registered;
    io_threads runner;
    // Every user connection's session, by conn id; outlives Control streams.
    stream::registry sessions;
    asio::io_context& io = runner.io();
    asio::strand<asio::io_context::executor_type> strand{asio::make_strand(io)};
    asio::steady_timer retry_timer{strand};
    // transport.connections channels while their connections are good: gRPC
    // reconnects each as needed. When the connection went stale (the server
    // silent, the network changed) all are replaced (channel_pool.hpp).
    std::unique_ptr<channel_pool> channels;
    // Every call made on them: stop() ends them all and waits for gRPC to be
    // done with each before the channels go (call_census.hpp says why).
    std::shared_ptr<call_census> calls = std::make_shared<call_census>();
    std::shared_ptr<route_watch> routes;  // network changes
    burrow::backoff backoff{1s, std::chrono::seconds(config->transport.max_backoff)};
    // Until then the server keeps the run we lost: try twice a second, so that
    // open sessions stall as briefly as the network allows.
    std::chrono::steady_clock::time_point resumable_until{};
    std::shared_ptr<control_session> session;
    std::string previous_run_id;
    // Visitors, and what their visits need: a stub on a channel and the
    // current run id (guarded: visits start on any thread).
    visitor_set visitors{io.get_executor(), [this] { return visits(); }};
    std::string reload();
    std::shared_ptr<tracked_stub> current_stub() { return channels->pick(); }
    // The connection went stale: the next attempt goes on a new one, and the
    // sessions on the old one are detached now (to be re-attached on the
    // new one) instead of when gRPC's keepalive gives up on it.
    void leave_connection(const std::string& why) {
        channels->renew();
        for (auto& p : sessions.all()) p->lost(why);
    }
    // Re-attaches sessions after a break.
    std::shared_ptr<resumer> resumes;
    std::unique_ptr<admin_server> admin;  // `burrow-client status`
    std::map<std::string, std::string> proxy_states;  // guarded by run_mutex
    std::promise<void> session_gone;  // set once the last session has ended, when stopping
    std::mutex run_mutex;
    std::condition_variable run_changed;
    std::string run_id;  // "" while not logged in
    std::set<std::uint64_t> visit_ids;  // the sessions that are visits (guarded by run_mutex)
    std::atomic<std::uint32_t> resume_timeout{0};  // the server's, from the last login
    std::atomic<std::uint16_t> rendezvous_port{0};  // likewise
    // Direct paths of visitors and of our secret proxies (P2P).
    std::shared_ptr<punch_manager> punches;
    std::shared_ptr<direct_resumer> direct_resumes;  // visitor sessions on direct paths

    void set_run(const std::string& id) {
        {
            std::lock_guard lock(run_mutex);
            run_id = id;
        }
        run_changed.notify_all();
    }
    std::string status(bool json);

    visit_context visits() {
        visit_context ctx;
        ctx.stub = [this] { return current_stub(); };
        ctx.client_id = config->client_id;
        ctx.run_id = [this] {
            std::lock_guard lock(run_mutex);
            return run_id;
        };
        ctx.keep = [this](const std::shared_ptr<stream::pump>& p, std::uint64_t id,
                          const std::string& secret) { keep_visit(p, id, secret); };
        ctx.want_direct = [this](const visitor_config& v) {
            if (punches) punches->want(v);
        };
        ctx.direct = [this](const visitor_config& v) -> std::shared_ptr<quic::link> {
            return punches ? punches->link_for(v.name) : nullptr;
        };
        ctx.keep_direct = [this](const std::shared_ptr<stream::pump>& p, std::uint64_t id,
                                 const std::string& secret, const visitor_config& v) {
            keep_visit(p, id, {});
            if (direct_resumes) direct_resumes->keep(p, id, secret, v);
        };
        ctx.movable = [this](const std::shared_ptr<stream::pump>& p, std::uint64_t id,
                             std::uint64_t home_id, const std::string& secret,
                             const visitor_config& v) {
            if (direct_resumes) direct_resumes->movable(p, id, home_id, secret, v);
        };
        return ctx;
    }
    // A visit that started: listed, and re-attached after a break when the
    // server made it resumable. (Ids come from the server, as Work sessions'.)
    void keep_visit(const std::shared_ptr<stream::pump>& p, std::uint64_t id,
                    const std::string& secret) {
        if (!secret.empty())
            resumes->make_resumable(p, id, secret, std::chrono::seconds(resume_timeout.load()));
        if (!sessions.add(id, p)) return;
        {
            std::lock_guard lock(run_mutex);
            visit_ids.insert(id);
        }
        p->on_end([this, id] {
            std::lock_guard lock(run_mutex);
            visit_ids.erase(id);
        });
    }
    bool stopping = false;
    bool stopped = false;
    // Until the next login: whether we asked the server port what it speaks,
    // and the plain words for a mismatch it showed ("" = none found).
    bool probed = false;
    std::string mismatch;
    std::thread prober;  // joined by stop()

    void connect() {
        if (stopping) return;
        log::get("client").debug("connecting to {}:{}", config->server_addr, config->server_port);
        session = std::make_shared<control_session>(
            io, source, channels->control(), calls, [this] { return current_stub(); },
            previous_run_id, registered, sessions,
            [this](session_end e) {
                set_run({});
                resumes->logged_out();
                asio::post(strand, [this, e = std::move(e)] { on_session_end(e); });
            });
        session->set_resumer(resumes);
        session->set_punches(punches);
        session->on_proxy([this](const std::string& name, const std::string& state) {
            std::lock_guard lock(run_mutex);
            if (state.empty())
                proxy_states.erase(name);  // removed by a reload
            else
                proxy_states[name] = state;
        });
        session->on_login([this](const control_session::login_info& login) {
            resume_timeout = login.resume_timeout;
            rendezvous_port = login.rendezvous_port;
            punches->set_rendezvous(config->server_addr, login.rendezvous_port);
            set_run(login.run_id);
            resumes->logged_in(login.run_id);
        });
        session->start();
    }

    void on_session_end(const session_end& e) {
        session.reset();
        if (e.stale_connection && !stopping) leave_connection(e.reason);
        if (e.forget_run) previous_run_id.clear();  // log in afresh
        if (e.logged_in) registered = e.registered;
        if (e.forget_run) registered.reset();
        if (e.logged_in) {
            backoff.reset();
            previous_run_id = e.run_id;
            resumable_until = std::chrono::steady_clock::now() + std::chrono::seconds(e.resume_timeout);
            probed = false;
            mismatch.clear();
        }
        if (stopping) return session_gone.set_value();
        // A server that closes the connection on a client without TLS, or
        // answers a TLS client with no TLS, may simply have TLS set the other
        // way: ask it once, off the io threads, before saying so.
        using failure = session_end::failure_kind;
        const bool suspect =
            !e.logged_in && (e.failure == failure::closed || e.failure == failure::tls_handshake);
        if (suspect && !probed) {
            probed = true;
            if (prober.joinable()) prober.join();
            prober = std::thread([this, e] {
                auto found = tls::probe_server(config->server_addr, config->server_port, 2s);
                asio::post(strand, [this, e, found] {
                    if (config->tls.enable && found == tls::server_protocol::plain_http2)
                        mismatch = "the server seems to run without TLS, but TLS is on here (set "
                                   "[tls] enable = false here too, or turn TLS on at the server)";
                    else if (!config->tls.enable && found == tls::server_protocol::tls)
                        mismatch = "the server seems to use TLS, but [tls] enable = false here "
                                   "(turn it on with tls.server_fingerprint or tls.ca_file, or "
                                   "turn TLS off at the server too)";
                    if (!stopping) retry(e);
                });
            });
            return;
        }
        retry(e);
    }

    void network_changed(const std::string& was, const std::string& now) {
        if (stopping) return;
        log::get("client").info("network changed: the route to {}:{} now leaves from {} (was {}); "
                                "reconnecting",
                                config->server_addr, config->server_port, now, was);
        if (punches) punches->network_changed();
        if (session) return session->drop("network changed");
        // Between attempts: the next one goes at once, on a new connection.
        leave_connection("network changed");
        retry_timer.cancel();
        connect();
    }

    void retry(const session_end& e) {
        auto delay = backoff.next();
        if (std::chrono::steady_clock::now() < resumable_until) delay = std::min(delay, 500ms);
        const bool suspect = e.failure == session_end::failure_kind::closed ||
                             e.failure == session_end::failure_kind::tls_handshake;
        const auto& reason = suspect && !mismatch.empty() ? mismatch : e.reason;
        // A server that stops says so: that is news, not a fault.
        const auto level = e.failure == session_end::failure_kind::server_stopping
                               ? spdlog::level::info
                               : spdlog::level::warn;
        log::get("client").log(level, "{} {}:{}: {}; retrying in {:.1f} s",
                               e.logged_in ? "disconnected from" : "cannot connect to",
                               config->server_addr, config->server_port, reason,
                               static_cast<double>(delay.count()) / 1000);
        retry_timer.expires_after(delay);
        retry_timer.async_wait([this](const boost::system::error_code& ec) {
            if (ec) return;
            // gRPC paces its own connection attempts too (growing up to
            // max_backoff) and fails calls fast in between: each of our
            // attempts is a real one, or a server that came back would wait
            // for gRPC's next attempt and then for our next one.
            channels->reset_backoff();
            connect();
        });
    }
};

// What `burrow-client status` prints: the connection, each proxy and visitor,
// and each open session (the home side's and this client's visits).
std::string client::impl::status(bool json) {
    const auto in_force = source->get();
    status_input in(*in_force);
    {
        std::lock_guard lock(run_mutex);
        in.run_id = run_id;
        in.states = proxy_states;
        in.visits = visit_ids;
    }
    in.sessions = sessions.entries();
    if (punches) in.paths = punches->list();
    in.connections = channels->loads();
    in.heap_in_use = heap_in_use();
    return render_status(in, json);
}

// Reads the config file again and applies what it changes (client/reload.hpp);
// a file with errors changes nothing. Returns what was logged, for the admin API.
std::string client::impl::reload() {
    std::lock_guard reloading(reload_mutex);
    auto& log = log::get("client");
    const auto& file = config->file;
    std::shared_ptr<client_config> next;
    const auto refused = reload_refusal(
        file, [&] { next = std::make_shared<client_config>(load_client_config(file)); });
    if (!refused.empty()) {
        std::string out;
        for (const auto& line : refused) {
            log.error("{}", line);  // what `verify` prints, a line each
            out += line + "\n";
        }
        return out;
    }
    const auto plan = plan_reload(*source->get(), *next);
    source->publish(plan.applied);
    if (plan.level_changed) log::set_level(plan.applied->log.level);
    std::string out = plan.summary(file) + "\n";
    log.info("{}", plan.summary(file));
    visitors.apply(plan);
    asio::post(strand, [this] {
        if (session) session->sync();
    });
    if (!plan.restart_only.empty()) {
        const auto waiting = fmt::format("reload: {} changed in {}: kept as they are until a restart",
                                         fmt::join(plan.restart_only, ", "), file);
        log.warn("{}", waiting);
        out += waiting + "\n";
    }
    return out;
}

client::client(std::shared_ptr<const client_config> config)
    : impl_(std::make_unique<impl>(std::move(config))) {}

std::string client::reload() { return impl_->reload(); }

client::~client() { stop(); }

void client::start() {
    auto& im = *impl_;
    stream::ledger::configure(im.config->transport.resume_buffer,
                              im.config->transport.resume_buffer_total);
    im.channels = std::make_unique<channel_pool>(
        [&im](std::size_t i) { return make_server_channel(*im.config, i); }, im.config->transport.connections,
        im.calls);
    im.resumes = std::make_shared<resumer>(im.io.get_executor(),
                                           [&im] { return im.current_stub(); }, im.sessions);
    // A new route to the server (Wi-Fi -> 4G): the connection is left at once.
    im.routes = std::make_shared<route_watch>(
        im.io.get_executor(), im.config->server_addr, im.config->server_port,
        [&im](const std::string& was, const std::string& now) {
            asio::post(im.strand, [&im, was, now] { im.network_changed(was, now); });
        });
    im.routes->start();
    // Punch signalling goes through whichever Control stream is current.
    punch_manager::hooks punch_hooks;
    punch_hooks.send_request = [&im](const punch_request_msg& m) {
        asio::post(im.strand, [&im, m] {
            if (im.session) im.session->send_punch(m);
        });
        return true;
    };
    punch_hooks.send_answer = [&im](const punch_answer_msg& m) {
        asio::post(im.strand, [&im, m] {
            if (im.session) im.session->send_punch(m);
        });
        return true;
    };
    punch_hooks.serve_stream = [&im](stream::carrier* c, const std::string& proxy,
                                     const std::string& visitor, const quic::link& on) {
        serve_direct_stream({im.io.get_executor(), im.source->get(), &im.sessions}, c, proxy,
                            visitor, on);
    };
    im.punches = std::make_shared<punch_manager>(im.io.get_executor(), im.source, punch_hooks);
    im.direct_resumes = std::make_shared<direct_resumer>(
        im.io.get_executor(),
        [&im](const std::string& visitor) { return im.punches ? im.punches->link_for(visitor) : nullptr; },
        [&im](std::uint64_t id, const std::shared_ptr<stream::pump>& p, const std::string& visitor,
              std::function<void(bool)> done) {
            const auto in_force = im.source->get();
            for (const auto& v : in_force->visitors)
                if (v.name == visitor)
                    return continue_visit_over_relay(im.visits(), im.io.get_executor(), v, p, id,
                                                     std::move(done));
            done(true);
        },
        im.sessions, [&im](std::uint64_t relay_id) {
            asio::post(im.strand, [&im, relay_id] {
                if (im.session) im.session->send_moved(relay_id);
            });
        });
    im.sessions.sweep_acks_every(im.io.get_executor(), std::chrono::seconds(1));
    log::get("client").info("burrow-client {} starting: server {}:{}, {} proxies, {} visitors "
                            "(tls {})",
                            im.config->client_id, im.config->server_addr, im.config->server_port,
                            im.config->proxies.size(), im.config->visitors.size(),
                            im.config->tls.enable ? "on" : "off");
    // A visitor whose port cannot be had is a start-up error, like a bad config.
    im.visitors.start(im.config->visitors);
    if (!im.config->file.empty()) {
        im.admin = std::make_unique<admin_server>(
            im.io.get_executor(), admin_address_of(*im.config),
            [&im](const std::string& request) {
                if (request == "status json") return im.status(true);
                if (request == "status text") return im.status(false);
                if (request == "reload") return im.reload();
                return std::string("unknown request\n");
            });
        im.admin->start();
    }
    im.runner.start();
    asio::post(im.strand, [&im] { im.connect(); });
}

void client::run_until_signal(signal_watch& signals) {
    // The watchdog leaves the drain its time and then some.
    // The watchdog's limit is set as the wait ends: a reload may change it.
    const int sig = signals.wait([this] { reload(); },
                                 std::chrono::seconds(impl_->source->get()->shutdown_timeout + 5));
    log::get("client").info("signal {}: shutting down", sig);
    drain();
    stop();
}

// Nothing new starts: visitors stop accepting, and the server closes our
// proxies, so no user connection arrives; the open ones (an ssh session, a
// download, a visit) get up to shutdown_timeout to finish on their own.
void client::drain() {
    auto& im = *impl_;
    const auto limit = std::chrono::seconds(im.source->get()->shutdown_timeout);
    if (limit.count() == 0 || !im.runner.running()) return;
    // Not waited for, as on the server: the connections of http proxies (an
    // idle keep-alive upstream would hold every stop for the whole time).
    const auto open = [&im] {
        const auto all = im.sessions.all();
        return static_cast<std::size_t>(std::count_if(
            all.begin(), all.end(), [](const auto& p) { return !p->describe().quiet; }));
    };
    // Nothing open: the logout that follows closes everything at once.
    if (open() == 0) return;
    asio::post(im.strand, [&im] {
        im.visitors.stop();
        if (im.session) im.session->close_proxies();
    });
    wait_for_drain(open, limit, "connection(s)", log::get("client"));
}

void client::stop() {
    auto& im = *impl_;
    if (im.stopped) return;
    im.stopped = true;
    std::promise<void> done;
    bool logging_out = false;
    asio::post(im.strand, [&im, &done, &logging_out] {
        im.stopping = true;
        im.retry_timer.cancel();
        im.visitors.stop();
        if (im.punches) im.punches->stop();
        if (im.routes) im.routes->stop();
        if (im.admin) im.admin->stop();
        if (im.session) {
            im.session->stop("client shutting down");  // logs out first
            logging_out = true;
        }
        done.set_value();
    });
    if (im.runner.running()) {
        done.get_future().wait();
        // The server lets the run go at once when it hears the Logout.
        if (logging_out) im.session_gone.get_future().wait_for(3s);
    }
    // Whatever is still open (visits, re-attaches, Work streams that are
    // ending) is cancelled; the channels may go once gRPC is done with all.
    im.calls->cancel_all();
    if (!im.calls->wait_until_empty(2s)) {
        log::get("client").warn("{} gRPC calls did not end within 2 s of being cancelled; "
                                "leaving them and their channels to the process's exit",
                                im.calls->alive());
        // Never let go: the last reference must not drop inside a reaction.
        static std::mutex kept_mutex;
        static auto* kept = new std::vector<std::shared_ptr<grpc::Channel>>;
        std::lock_guard lock(kept_mutex);
        const auto all = im.channels->all();
        kept->insert(kept->end(), all.begin(), all.end());
    }
    if (im.prober.joinable()) im.prober.join();  // its result finds `stopping` set
    im.runner.stop();
}

bool client::wait_until_logged_in(std::chrono::milliseconds timeout) {
    auto& im = *impl_;
    std::unique_lock lock(im.run_mutex);
    return im.run_changed.wait_for(lock, timeout, [&im] { return !im.run_id.empty(); });
}

visit_context client::visits() { return impl_->visits(); }

std::unique_ptr<client> client::log_in_once(const client_config& config, const char* logger,
                                            const std::string& tag) {
    auto own = std::make_shared<client_config>(config);
    own->proxies.clear();
    own->visitors.clear();
    own->transport.pool_count = 0;
    own->file.clear();  // no admin API: that is the running client's
    auto c = std::make_unique<client>(own);
    c->start();
    const auto patience = std::chrono::seconds(own->transport.dial_timeout + 5);
    if (c->wait_until_logged_in(patience)) return c;
    log::get(logger).error("{} could not log in to {}:{} within {} s", tag, own->server_addr,
                           own->server_port, patience.count());
    c->stop();
    return nullptr;
}

std::uint16_t client::rendezvous_port() const { return impl_->rendezvous_port.load(); }

boost::asio::any_io_executor client::executor() { return impl_->io.get_executor(); }

}  // namespace burrow
