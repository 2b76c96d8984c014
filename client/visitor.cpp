#include "client/visitor.hpp"

#include <stdexcept>

#include <boost/asio/strand.hpp>
#include <fmt/format.h>
#include <grpcpp/generic/generic_stub.h>

#include "burrow.pb.h"
#include "common/auth.hpp"
#include "client/direct_session.hpp"
#include "client/p2p/quic_link.hpp"
#include "client/stream_call.hpp"
#include "common/host_names.hpp"
#include "common/log.hpp"
#include "common/net_util.hpp"

namespace burrow {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

spdlog::logger& visit_log() {
    static spdlog::logger& l = log::get("visitor");
    return l;
}

// Sends `hello` on `pump`'s carrier (a new Visit call, or a QUIC stream on
// the direct path), and once the other end answers starts pumping `socket`.
// A visit over the direct path that ends before it started goes to
// `fallback` with its socket (the relay), not to `on_end`.
// Keeps a visit that started (its `visited` answer in hand).
using keeper = std::function<void(const std::shared_ptr<stream::pump>&, const v1::VisitStart&)>;

// A relayed visit's keeper: listed and resumable over the relay, and, for a
// visitor with p2p = true, movable onto the direct path.
keeper relay_keeper(const visit_context& ctx, const visitor_config& v) {
    return [keep = ctx.keep, movable = v.p2p ? ctx.movable : nullptr, v](
               const std::shared_ptr<stream::pump>& p, const v1::VisitStart& visited) {
        if (keep) keep(p, visited.session_id(), visited.session_secret());
        if (movable)
            movable(p, visited.session_id(), visited.home_session_id(), visited.move_secret(), v);
    };
}

void begin_visit(keeper keep, std::shared_ptr<stream::pump> pump, std::string hello,
                 stream::pump::stream_socket socket, std::string tag, std::string server_name,
                 std::string peer, std::function<void(visit_end)> on_end,
                 std::function<void(stream::pump::stream_socket)> fallback = {}) {
    struct state {
        stream::pump::stream_socket socket;
        std::function<void(visit_end)> on_end;
        std::function<void(stream::pump::stream_socket)> fallback;
        std::atomic<bool> refused{false}, started{false};
    };
    auto st = std::make_shared<state>(std::move(socket), std::move(on_end), std::move(fallback));
    std::weak_ptr<stream::pump> weak = pump;
    pump->on_end([st, tag] {
        if (!st->started && st->fallback) {
            visit_log().info("{} the direct path could not take it: over the relay", tag);
            return st->fallback(std::move(st->socket));
        }
        if (!st->started && !st->refused)
            visit_log().warn("{} the server ended the visit before it started", tag);
        error_code ignored;
        st->socket.close(ignored);  // at once, when the visit never started
        if (st->on_end)
            st->on_end(st->refused   ? visit_end::refused
                       : st->started ? visit_end::closed
                                     : visit_end::failed);
    });
    pump->read_head(
        [weak, st, tag, server_name, keep = std::move(keep), peer](std::string serialized) {
            auto p = weak.lock();
            if (!p) return;
            v1::Frame head;
            if (!head.ParseFromString(serialized) || !head.has_visited())
                return p->close("protocol error: expected visited");
            visit_log().info("{} connected to {} of client {} ({} {}), {}", tag, server_name,
                             printable(head.visited().client().substr(0, 64)),
                             printable(head.visited().tag().substr(0, 80)),
                             st->fallback ? "there" : "on the server",
                             st->fallback ? "direct (p2p)" : "relayed");
            st->started = true;
            p->set_peer(peer);
            if (keep) keep(p, head.visited());
            p->start(st->socket, tag);
        },
        [st, tag](std::string why) {
            visit_log().warn("{} {}", tag, printable(why));
            if (!st->fallback) st->refused = true;
        });
    pump->send_head(std::move(hello));
}

// Opens the Visit call of a relayed visit.
void begin_relay_visit(const visit_context& ctx, asio::any_io_executor ex, const visitor_config& v,
                       std::string hello, stream::pump::stream_socket socket, std::string tag,
                       std::string peer, std::function<void(visit_end)> on_end) {
    auto* call = new stream_call(*ctx.stub(), visit_method, std::move(ex));
    // `call` may be gone once the hello is on its way: keep only its pump.
    begin_visit(relay_keeper(ctx, v), call->pump(), std::move(hello), std::move(socket),
                std::move(tag), v.server_name, std::move(peer), std::move(on_end));
}

}  // namespace

namespace {

// A VisitHello for `v`, proved with a fresh nonce.
v1::Frame visit_hello(const visit_context& ctx, const visitor_config& v, const std::string& run_id) {
    v1::Frame head;
    auto* hello = head.mutable_visit();
    hello->set_run_id(run_id);
    hello->set_server_name(v.server_name);
    hello->set_server_client(v.server_client);
    const auto timestamp = auth::unix_now();
    const auto nonce = auth::random_bytes(auth::nonce_size);
    hello->set_timestamp(timestamp);
    hello->set_nonce(nonce);
    hello->set_proof(auth::make_visit_proof(auth::visit_key(v.secret_key), ctx.client_id,
                                            v.server_name, timestamp, nonce));
    return head;
}

}  // namespace

void continue_visit_over_relay(const visit_context& ctx, asio::any_io_executor ex,
                               const visitor_config& v, std::shared_ptr<stream::pump> session,
                               std::uint64_t direct_id, std::function<void(bool settled)> done) {
    const auto run_id = ctx.run_id();
    if (run_id.empty()) return done(false);  // after the next login
    auto head = visit_hello(ctx, v, run_id);
    auto* r = head.mutable_visit()->mutable_resume_direct();
    r->set_session_id(direct_id);
    r->set_session_secret(session->resume_secret());
    const auto held = session->received_so_far();
    r->set_received(held.received);
    r->set_received_fin(held.fin);
    auto* call = new stream_call(*ctx.stub(), visit_method, std::move(ex));
    auto fresh = call->pump();  // `call` may be gone once the hello is on its way
    auto settled = std::make_shared<std::atomic<bool>>(false);
    fresh->on_end([done, settled] { done(*settled); });
    std::weak_ptr<stream::pump> weak = fresh;
    fresh->read_head(
        [weak, session, settled, keep = relay_keeper(ctx, v)](std::string serialized) {
            auto p = weak.lock();
            if (!p) return;
            v1::Frame answer;
            if (!answer.ParseFromString(serialized) || !answer.has_visited() ||
                !answer.visited().resumed())
                return p->close("protocol error: expected a resumed visited");
            *settled = true;
            const auto& visited = answer.visited();
            const stream::resume_point theirs{visited.resumed_received(), visited.resumed_fin()};
            p->hand_over([session, theirs, keep, visited](stream::carrier* c) {
                if (!c) return session->reset("re-attach over the relay failed: the stream broke");
                if (auto err = session->reattach(c, theirs); !err.empty()) {
                    c->finish(false);
                    return session->reset("re-attach over the relay failed: " + err);
                }
                visit_log().info("{} goes on over the relay", session->describe().tag);
                keep(session, visited);  // resumable as a relayed visit from now on
            });
        },
        [session, settled](std::string why) {
            *settled = true;
            session->reset("over the relay: " + printable(why.substr(0, 200)));
        });
    fresh->send_head(head.SerializeAsString());
}

void open_visit(const visit_context& ctx, asio::any_io_executor ex, const visitor_config& v,
                asio::generic::stream_protocol::socket socket, const std::string& tag,
                const std::string& peer, std::function<void(visit_end)> on_end) {
    const auto run_id = ctx.run_id();
    if (run_id.empty()) {
        visit_log().warn("{} not connected to the server yet: closing the connection from {}",
                         tag, peer);
        if (on_end) on_end(visit_end::failed);
        return;
    }
    const auto head = visit_hello(ctx, v, run_id);
    visit_log().debug("{} visiting {} for {}", tag, v.server_name, peer);
    auto relay_hello = head.SerializeAsString();
    if (auto link = ctx.direct ? ctx.direct(v) : nullptr) {
        if (auto* c = link->open_stream()) {
            auto pump = std::make_shared<stream::pump>(ex);
            pump->attach(c);
            c->set_events(pump);
            auto relay = [ctx, ex, v, hello = std::move(relay_hello), tag, peer,
                          on_end](stream::pump::stream_socket s) mutable {
                begin_relay_visit(ctx, ex, v, std::move(hello), std::move(s), tag, peer, on_end);
            };
            const auto secret = auth::random_bytes(stream::pump::secret_size);
            keeper keep;
            if (ctx.keep_direct)
                keep = [keep_direct = ctx.keep_direct, v, secret](const std::shared_ptr<stream::pump>& p,
                                                                   const v1::VisitStart& visited) {
                    keep_direct(p, visited.session_id(), secret, v);
                };
            return begin_visit(std::move(keep), std::move(pump), direct_hello(v, *link, secret),
                               std::move(socket), tag, v.server_name, peer, on_end, std::move(relay));
        }
    }
    begin_relay_visit(ctx, std::move(ex), v, std::move(relay_hello), std::move(socket), tag, peer,
                      std::move(on_end));
}

visitor_listener::visitor_listener(asio::any_io_executor ex, visit_context ctx, visitor_config v)
    : ex_(std::move(ex)),
      ctx_(std::move(ctx)),
      v_(std::move(v)),
      acceptor_(asio::make_strand(ex_)),
      retry_(acceptor_.get_executor()) {}

void visitor_listener::start() {
    error_code ec;
    const auto address = asio::ip::make_address(v_.bind_addr, ec);
    const asio::ip::tcp::endpoint at(address, v_.bind_port);
    if (!ec) acceptor_.open(at.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(at, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        throw std::runtime_error(fmt::format("visitor {}: cannot listen on {}:{}: {}", v_.name,
                                             v_.bind_addr, v_.bind_port, ec.message()));
    visit_log().info("[{}] visitor listening on {} for {}{}", v_.name,
                     to_string(acceptor_.local_endpoint()), v_.server_name,
                     v_.server_client.empty() ? "" : " of client " + v_.server_client);
    accept();
}

void visitor_listener::stop(std::function<void()> then) {
    asio::post(acceptor_.get_executor(), [self = shared_from_this(), then = std::move(then)] {
        error_code ignored;
        self->acceptor_.close(ignored);
        self->retry_.cancel();
        if (then) then();
    });
}

void visitor_listener::accept() {
    acceptor_.async_accept(ex_, [self = shared_from_this()](const error_code& ec,
                                                           asio::ip::tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
        if (!ec) {
            error_code ignored;
            socket.set_option(asio::ip::tcp::no_delay(true), ignored);
            const auto peer = socket.remote_endpoint(ignored);
            const auto tag = fmt::format("[{}/{}]", self->v_.name, ++self->count_);
            if (self->v_.p2p && self->ctx_.want_direct) self->ctx_.want_direct(self->v_);
            open_visit(self->ctx_, self->ex_, self->v_,
                       asio::generic::stream_protocol::socket(std::move(socket)), tag,
                       to_string(peer));
        } else {
            // Out of descriptors and the like: back off instead of spinning.
            visit_log().warn("[{}] accept failed: {}", self->v_.name, ec.message());
            self->retry_.expires_after(std::chrono::milliseconds(200));
            self->retry_.async_wait([self](const error_code& e) {
                if (!e) self->accept();
            });
            return;
        }
        self->accept();
    });
}

}  // namespace burrow
