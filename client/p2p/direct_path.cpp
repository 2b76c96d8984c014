#include "client/p2p/direct_path.hpp"
#include "client/p2p/birthday_probe.hpp"
#include "client/p2p/host_resources.hpp"
#include "client/p2p/udp_batch.hpp"

#include <array>
#include <mutex>

#include <boost/asio/ip/unicast.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <openssl/rand.h>

#include "common/log.hpp"
#include "common/p2p/birthday.hpp"
#include "common/p2p/candidates.hpp"
#include "common/stun/codec.hpp"

namespace burrow {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using std::chrono::milliseconds;

namespace {

spdlog::logger& p2p_log() { return log::get("p2p"); }

std::uint64_t now_us() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          direct_path::clock::now().time_since_epoch())
                                          .count());
}

// A peer that probes from an address it did not announce (a symmetric NAT's
// new port) is probed there too, up to this many addresses in all.
constexpr std::size_t max_peer_addresses = 16;
// After the first answer of the rendezvous, how long its second port may
// take to answer too (the two mapped ports tell whether our NAT is symmetric).
constexpr milliseconds second_answer_grace{300};
// The first probes to each candidate go out with this TTL: they open our own
// NAT toward the peer but die before reaching the peer's NAT, which would
// otherwise see an unsolicited packet (NATLAB.md).
constexpr int priming_ttl = 2;

}  // namespace

struct direct_path::impl : std::enable_shared_from_this<impl> {
    impl(asio::any_io_executor ex, settings s)
        : strand(asio::make_strand(ex)), socket(std::make_shared<udp::socket>(strand)), timer(strand),
          deadline(strand),
          cfg(std::move(s)) {}

    asio::strand<asio::any_io_executor> strand;
    using socket_ptr = std::shared_ptr<udp::socket>;
    socket_ptr socket;  // the path's; QUIC shares it
    asio::steady_timer timer;     // resends, probe rounds, keepalives
    asio::steady_timer deadline;  // of discovery, of the punch, of a keepalive's answer
    settings cfg;

    mutable std::mutex snap_mutex;
    snapshot snap;  // written on the strand, read by now() under snap_mutex
    std::function<void(const snapshot&)> changed;

    udp_batch::reader rx;
    endpoint from;             // of the datagram being handled
    udp::socket* via = nullptr;  // and the socket it came on

    // discovery
    stun::transaction_id txid{};
    std::function<void(discovery)> discovered;
    int stun_sends = 0;
    endpoint rendezvous_alt;                  // its second port
    std::optional<endpoint> mapped_alt;       // as that port saw us
    bool second_awaited = false;
    // punching and after
    std::optional<punch::receiver> punch_rx;
    punch::key key{};
    std::uint64_t punch_id = 0;
    std::vector<endpoint> peers;
    std::uint32_t seq = 0;
    int rounds = 0;
    bool awaiting_keepalive = false;
    // Birthday probing (common/p2p/birthday.hpp), while punching.
    p2p::birthday::role birthday = p2p::birthday::role::none;
    clock::time_point birthday_at{};  // when it starts, unless the path is up by then
    p2p::birthday_probe extra;
    // QUIC: made when the path is up (visitor) or at the punched peer's
    // first Initial (home); read by other threads under snap_mutex.
    quic::fingerprint pinned{};
    std::shared_ptr<quic::link> quic;

    state current() const {
        std::lock_guard lock(snap_mutex);
        return snap.now;
    }

    void set(state s, std::string why = {}) {
        snapshot copy;
        {
            std::lock_guard lock(snap_mutex);
            snap.now = s;
            snap.since = clock::now();
            snap.why = std::move(why);
            copy = snap;
        }
        if (changed) changed(copy);
    }

    // ---- discovery ----

    void discover(std::function<void(discovery)> done) {
        discovered = std::move(done);
        boost::system::error_code ec;
        socket->open(cfg.rendezvous.protocol(), ec);
        if (!ec) socket->bind(endpoint(cfg.rendezvous.protocol(), 0), ec);
        if (!ec) socket->non_blocking(true, ec);
        if (!ec) udp_batch::enable_gro(socket->native_handle());
        if (ec) return fail(fmt::format("cannot open a UDP socket: {}", ec.message()));
        {
            std::lock_guard lock(snap_mutex);
            snap.local_port = socket->local_endpoint(ec).port();
        }
        if (RAND_bytes(txid.data(), static_cast<int>(txid.size())) != 1)
            return fail("no random bytes for STUN");
        if (cfg.rendezvous.port() < 65535)
            rendezvous_alt = endpoint(cfg.rendezvous.address(), cfg.rendezvous.port() + 1);
        set(state::discovering);
        receive(socket);
        send_binding();
        deadline.expires_after(cfg.discover_limit);
        deadline.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
            if (!e && self->current() == state::discovering) self->end_discovery();
        });
    }

    void send_binding() {
        stun::builder request(stun::binding, stun::msg_class::request, txid);
        request.fingerprint();
        boost::system::error_code ignored;
        for (const auto& to : {cfg.rendezvous, rendezvous_alt})
            if (to.port() != 0) socket->send_to(asio::buffer(request.bytes().data(), request.bytes().size()), to, 0, ignored);
        static constexpr std::array<int, 4> gaps{100, 200, 400, 800};
        if (stun_sends >= static_cast<int>(gaps.size())) return;
        timer.expires_after(milliseconds(gaps[static_cast<std::size_t>(stun_sends++)]));
        timer.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
            if (!e && self->current() == state::discovering) self->send_binding();
        });
    }

    // Both ports' answers end the discovery; after the first, the second
    // has a moment to come.
    void on_stun(std::span<const std::uint8_t> packet) {
        const bool first_port = from == cfg.rendezvous;
        if (current() != state::discovering || (!first_port && from != rendezvous_alt)) return;
        const auto mapped = stun::binding_answer(packet, txid);
        if (!mapped) return;
        bool both = false;
        {
            std::lock_guard lock(snap_mutex);
            (first_port ? snap.mapped : mapped_alt) = *mapped;
            both = snap.mapped && mapped_alt;
        }
        if (both) return end_discovery();
        if (std::exchange(second_awaited, true)) return;
        deadline.expires_after(second_answer_grace);
        deadline.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
            if (!e && self->current() == state::discovering) self->end_discovery();
        });
    }

    void end_discovery() {
        timer.cancel();
        deadline.cancel();
        discovery found;
        std::optional<endpoint> mapped;
        std::uint16_t port = 0;
        {
            std::lock_guard lock(snap_mutex);
            if (!snap.mapped) snap.mapped = mapped_alt;
            // Two ports of one server that saw us on two ports: a new mapping
            // per destination (a symmetric NAT).
            snap.mapping_varies = mapped_alt && *snap.mapped != *mapped_alt;
            found.mapping_varies = snap.mapping_varies;
            mapped = snap.mapped;
            port = snap.local_port;
        }
        if (!mapped)
            p2p_log().info("{} the rendezvous at {} did not answer within {} ms: local candidates only",
                           cfg.tag, fmt::streamed(cfg.rendezvous), cfg.discover_limit.count());
        else if (found.mapping_varies)
            p2p_log().info("{} our NAT is symmetric: the rendezvous's two ports saw {} and {}", cfg.tag,
                           fmt::streamed(*mapped), fmt::streamed(*mapped_alt));
        for (const auto& c : p2p::order(mapped, p2p::local_addresses(), port))
            found.candidates.push_back(p2p::format(c));
        set(state::idle);
        if (auto done = std::move(discovered)) done(std::move(found));
    }

    // ---- punching ----

    void punch(std::uint64_t id, const punch::key& k, const std::vector<std::string>& peer,
               bool peer_varies, const quic::fingerprint& pin) {
        if (current() != state::idle) return;
        punch_id = id;
        key = k;
        pinned = pin;
        punch_rx.emplace(k, id, cfg.self);
        peers = p2p::accept(peer, cfg.allow_loopback);
        {
            std::lock_guard lock(snap_mutex);
            snap.punch_id = id;
        }
        if (peers.empty()) return fail("the peer sent no usable candidate");
        set(state::punching);
        birthday = p2p::birthday::choose(snap_varies(), peer_varies);
        birthday_at = clock::now() + cfg.birthday_after;
        probe_round();
        deadline.expires_after(cfg.punch_limit);
        deadline.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
            if (!e && self->current() == state::punching)
                self->fail(fmt::format("no authenticated answer from {} candidate(s) within {} ms",
                                       self->peers.size(), self->cfg.punch_limit.count()));
        });
    }

    bool snap_varies() const {
        std::lock_guard lock(snap_mutex);
        return snap.mapping_varies;
    }

    // Birthday probing, the hard side: more sockets (each a new mapping of
    // our NAT) probing the peer's first candidate, its mapped address.
    void open_extra_sockets() {
        extra.open_sockets(strand, cfg.rendezvous.protocol(), cfg.birthday_sockets, cfg.tag,
                           [this](const socket_ptr& s) { receive(s); });
        std::lock_guard lock(snap_mutex);
        snap.birthday_sockets = static_cast<int>(extra.sockets().size());
    }

    // The easy side: probe many ports of the peer's mapped address, spread
    // over cfg.birthday_spread.
    void plan_spray() {
        extra.plan_spray(peers.front().address(), cfg.birthday_ports,
                         cfg.birthday_spread / cfg.probe_every);
        std::lock_guard lock(snap_mutex);
        snap.birthday_ports = static_cast<int>(extra.ports_planned());
    }

    // An authenticated punch packet on one of the extra sockets: its
    // mapping got through, so it becomes the path's socket.
    void adopt(udp::socket* chosen) {
        std::size_t number = 0;
        auto taken = extra.take(chosen, number);
        if (!taken) return;
        auto old = std::exchange(socket, std::move(taken));
        boost::system::error_code ec;
        old->close(ec);
        const auto port = socket->local_endpoint(ec).port();
        {
            std::lock_guard lock(snap_mutex);
            snap.local_port = port;
        }
        p2p_log().info("{} through the symmetric NAT from extra socket {} (udp {})", cfg.tag, number, port);
    }

    void send_probe(udp::socket& on, const endpoint& to) {
        const auto p = punch::encode({punch::type::probe, cfg.self, punch_id, ++seq, now_us()}, key);
        boost::system::error_code ignored;  // an unreachable candidate is just one that fails
        on.send_to(asio::buffer(p), to, 0, ignored);
    }

    void probe_round() {
        if (current() != state::punching) return;
        boost::system::error_code ignored;
        if (birthday != p2p::birthday::role::none && clock::now() >= birthday_at) {
            if (birthday == p2p::birthday::role::hard) open_extra_sockets();
            else plan_spray();
            birthday = p2p::birthday::role::none;
        }
        const bool priming = rounds++ == 0;
        const auto hops = [&](int ttl) {
            socket->set_option(asio::ip::unicast::hops(ttl), ignored);
            for (auto& s : extra.sockets()) s->set_option(asio::ip::unicast::hops(ttl), ignored);
        };
        if (priming) hops(priming_ttl);
        for (const auto& p : peers) send_probe(*socket, p);
        for (auto& s : extra.sockets()) send_probe(*s, peers.front());
        if (priming) hops(64);
        extra.spray_round([this](const endpoint& to) { send_probe(*socket, to); });
        timer.expires_after(cfg.probe_every);
        timer.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
            if (!e) self->probe_round();
        });
    }

    void on_punch(std::span<const std::uint8_t> packet) {
        if (!punch_rx) return;
        punch::fields f;
        const auto refused = punch_rx->check(packet, f);
        if (refused != punch::refusal::none) {
            p2p_log().debug("{} punch packet from {} refused: {}", cfg.tag, fmt::streamed(from),
                            punch::to_string(refused));
            return;
        }
        const auto s = current();
        if (via != socket.get()) {
            if (s != state::punching || current_link()) return;
            adopt(via);
        }
        if (f.kind == punch::type::probe) {
            // Answer where it came from: that is the way back through both NATs.
            const auto answer = punch::encode({punch::type::answer, cfg.self, punch_id, f.seq, f.sent_us}, key);
            boost::system::error_code ignored;
            socket->send_to(asio::buffer(answer), from, 0, ignored);
            if (s == state::punching && peers.size() < max_peer_addresses &&
                std::find(peers.begin(), peers.end(), from) == peers.end())
                peers.push_back(from);
            return;
        }
        const double rtt = static_cast<double>(now_us() - f.sent_us) / 1000.0;
        if (s == state::punching) {
            {
                std::lock_guard lock(snap_mutex);
                snap.peer = from;
                snap.rtt_ms = rtt;
                snap.last_answer = clock::now();
            }
            timer.cancel();
            deadline.cancel();
            p2p_log().info("{} direct path up: {} -> {} (punch {}), rtt {:.1f} ms", cfg.tag,
                           snap.local_port, fmt::streamed(from), punch_id, rtt);
            extra.close();
            set(state::up);
            schedule_keepalive();
            if (cfg.self == punch::role::visitor) start_quic(from);
        } else if (s == state::up && snap_peer() == from) {
            {
                std::lock_guard lock(snap_mutex);
                snap.rtt_ms = rtt;
                snap.last_answer = clock::now();
            }
            if (awaiting_keepalive) {
                awaiting_keepalive = false;
                deadline.cancel();
                schedule_keepalive();  // back to the idle period
            }
        }
    }

    endpoint snap_peer() const {
        std::lock_guard lock(snap_mutex);
        return snap.peer.value_or(endpoint());
    }

    // ---- QUIC ----

    std::shared_ptr<quic::link> current_link() const {
        std::lock_guard lock(snap_mutex);
        return quic;
    }

    void start_quic(const endpoint& peer) {
        quic::link::settings q;
        q.server = cfg.self == punch::role::home;
        q.peer = peer;
        q.id = cfg.identity;
        q.pinned = pinned;
        q.key = key;
        q.tag = cfg.tag;
        // The peer reached this socket: the others are not needed. The link
        // keeps the socket until it is done; close() closes it.
        extra.close();
        auto link = quic::link::make(strand, socket,
                                     std::move(q), cfg.on_stream,
                                     [weak = weak_from_this()](const std::string& why) {
                                         if (auto self = weak.lock()) self->quic_closed(why);
                                     });
        {
            std::lock_guard lock(snap_mutex);
            quic = link;
        }
        link->start();
    }

    void on_quic(std::span<const std::uint8_t> packet) {
        auto link = current_link();
        if (!link) {
            // The home side: the first Initial from a peer this punch has
            // authenticated (one that probed us, or that we reached) makes
            // the connection; anything else is dropped.
            const auto s = current();
            if (cfg.self != punch::role::home || (s != state::punching && s != state::up)) return;
            if (std::find(peers.begin(), peers.end(), from) == peers.end() && snap_peer() != from)
                return;
            start_quic(from);
            link = current_link();
        }
        link->receive(packet, from);
    }

    void quic_closed(const std::string& why) {
        {
            std::lock_guard lock(snap_mutex);
            quic.reset();
            snap.quic_ready = false;
        }
        const auto s = current();
        if (s == state::up || s == state::punching) fail("QUIC: " + why);
    }

    void close_quic(const std::string& why) {
        std::shared_ptr<quic::link> link;
        {
            std::lock_guard lock(snap_mutex);
            link = std::exchange(quic, nullptr);
            snap.quic_ready = false;
        }
        if (link) link->close(why);
    }

    // ---- keeping it ----

    void schedule_keepalive() {
        timer.expires_after(cfg.keepalive);
        timer.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
            if (!e) self->keepalive();
        });
    }

    void keepalive() {
        if (current() != state::up) return;
        if (!awaiting_keepalive) {
            awaiting_keepalive = true;
            deadline.expires_after(cfg.dead_after);
            deadline.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
                if (!e && self->awaiting_keepalive && self->current() == state::up)
                    self->fail(fmt::format("no answer to keepalives for {} ms",
                                           self->cfg.dead_after.count()));
            });
        }
        send_probe(*socket, snap_peer());
        // While unanswered, resend three times within dead_after; then the
        // usual period.
        timer.expires_after(awaiting_keepalive ? cfg.dead_after / 3 : cfg.keepalive);
        timer.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
            if (!e) self->keepalive();
        });
    }

    // ---- the socket ----

    // Waits for datagrams on `s` (the path's socket, or an extra one while
    // punching), then reads what is there in batches (GRO).
    void receive(const socket_ptr& s) {
        s->async_wait(udp::socket::wait_read, [self = shared_from_this(), s](const boost::system::error_code& e) {
            if (e == asio::error::operation_aborted || !s->is_open()) return;
            self->rx.drain(s->native_handle(), [&](std::span<const std::uint8_t> packet, const endpoint& src) {
                if (!s->is_open()) return;  // adopting another socket closed this one
                self->from = src;
                self->via = s.get();
                self->dispatch(packet);
            });
            if (s->is_open()) self->receive(s);
        });
    }

    // An extra socket takes only punch packets; the path's socket all three kinds.
    void dispatch(std::span<const std::uint8_t> packet) {
        if (punch::looks_like_punch(packet) && packet.size() == punch::packet_size)
            on_punch(packet);
        else if (via != socket.get())
            return;
        else if (stun::looks_like_stun(packet))
            on_stun(packet);
        else
            on_quic(packet);
    }

    void fail(std::string why) {
        timer.cancel();
        deadline.cancel();
        awaiting_keepalive = false;
        p2p_log().info("{} direct path failed: {}", cfg.tag, why);
        extra.close();
        close_quic(why);
        if (auto done = std::move(discovered)) done({});
        set(state::failed, std::move(why));
    }

    void close() {
        if (current() == state::closed) return;
        timer.cancel();
        deadline.cancel();
        close_quic("the direct path was closed");
        boost::system::error_code ignored;
        socket->close(ignored);
        extra.close();
        changed = nullptr;
        discovered = nullptr;
        std::lock_guard lock(snap_mutex);
        snap.now = state::closed;
        snap.since = clock::now();
    }
};

direct_path::direct_path(asio::any_io_executor ex, settings s)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(s))) {}

direct_path::~direct_path() { close(); }

void direct_path::discover(std::function<void(discovery)> done) {
    asio::post(impl_->strand, [self = impl_, done = std::move(done)]() mutable {
        self->discover(std::move(done));
    });
}

void direct_path::punch(std::uint64_t punch_id, const punch::key& key,
                        const std::vector<std::string>& peer, bool peer_varies,
                        const quic::fingerprint& pinned) {
    asio::post(impl_->strand, [self = impl_, punch_id, key, peer, peer_varies, pinned] {
        self->punch(punch_id, key, peer, peer_varies, pinned);
    });
}

std::shared_ptr<quic::link> direct_path::link() const {
    auto l = impl_->current_link();
    return l && l->ready() ? l : nullptr;
}

void direct_path::fail(std::string why) {
    asio::post(impl_->strand, [self = impl_, why = std::move(why)]() mutable {
        const auto s = self->current();
        if (s != state::closed && s != state::failed) self->fail(std::move(why));
    });
}

void direct_path::on_change(std::function<void(const snapshot&)> f) {
    asio::post(impl_->strand, [self = impl_, f = std::move(f)]() mutable { self->changed = std::move(f); });
}

void direct_path::close() {
    asio::post(impl_->strand, [self = impl_] { self->close(); });
}

direct_path::snapshot direct_path::now() const {
    std::lock_guard lock(impl_->snap_mutex);
    auto s = impl_->snap;
    s.quic_ready = impl_->quic && impl_->quic->ready();
    return s;
}

std::string_view direct_path::to_string(state s) {
    switch (s) {
        case state::idle: return "idle";
        case state::discovering: return "discovering";
        case state::punching: return "punching";
        case state::up: return "up";
        case state::failed: return "failed";
        case state::closed: return "closed";
    }
    return "?";
}

}  // namespace burrow
