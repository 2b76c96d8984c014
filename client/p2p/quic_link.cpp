// The QUIC connection of a direct path: ngtcp2 driven from one strand.
// Reading: a datagram -> ngtcp2_conn_read_pkt (its callbacks only note what
// happened) -> after_read() hands new streams and data to their owners.
// Writing: quic_send.cpp.
#include "client/p2p/quic_conn.hpp"

#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <gnutls/crypto.h>

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include "common/log.hpp"

namespace burrow::quic {

namespace asio = boost::asio;
using udp = asio::ip::udp;

namespace {

spdlog::logger& quic_log() { return log::get("p2p"); }

constexpr std::uint64_t MiB = 1u << 20;

constexpr char priority[] =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:%DISABLE_TLS13_COMPAT_MODE:-CIPHER-ALL:+AES-128-GCM:"
    "+AES-256-GCM:+CHACHA20-POLY1305";
constexpr char exporter_label[] = "EXPORTER-burrow-direct";
constexpr char proof_context[] = "burrow direct v1";

// ngtcp2's own trace, on stderr, when BURROW_QUIC_DEBUG is set.
void debug_printf(void*, const char* format, ...) {
    va_list ap;
    va_start(ap, format);
    std::vfprintf(stderr, format, ap);
    va_end(ap);
    std::fputc('\n', stderr);
}

conn* of(void* user_data) { return static_cast<conn*>(user_data); }

void random_bytes(std::uint8_t* p, std::size_t n) {
    if (gnutls_rnd(GNUTLS_RND_RANDOM, p, n) != 0) throw std::runtime_error("no random bytes");
}

void random_cb(std::uint8_t* dest, std::size_t n, const ngtcp2_rand_ctx*) { random_bytes(dest, n); }

int new_cid_cb(ngtcp2_conn*, ngtcp2_cid* cid, std::uint8_t* token, std::size_t cidlen, void*) {
    random_bytes(cid->data, cidlen);
    cid->datalen = cidlen;
    random_bytes(token, NGTCP2_STATELESS_RESET_TOKENLEN);
    return 0;
}

int stream_data_cb(ngtcp2_conn*, std::uint32_t flags, std::int64_t id, std::uint64_t,
                   const std::uint8_t* data, std::size_t n, void* user, void*) {
    return of(user)->on_stream_data(id, flags, data, n);
}
int stream_open_cb(ngtcp2_conn*, std::int64_t id, void* user) { return of(user)->on_stream_open(id); }
int stream_close_cb(ngtcp2_conn*, std::uint32_t, std::int64_t id, std::uint64_t, void* user, void*) {
    of(user)->on_stream_close(id);
    return 0;
}
int stream_reset_cb(ngtcp2_conn*, std::int64_t id, std::uint64_t, std::uint64_t, void* user, void*) {
    of(user)->on_stream_close(id);
    return 0;
}
int acked_cb(ngtcp2_conn*, std::int64_t id, std::uint64_t offset, std::uint64_t n, void* user, void*) {
    of(user)->on_acked(id, offset, n);
    return 0;
}
int extend_stream_cb(ngtcp2_conn*, std::int64_t id, std::uint64_t, void* user, void*) {
    of(user)->on_extend_stream(id);
    return 0;
}
int streams_credit_cb(ngtcp2_conn*, std::uint64_t, void* user) {
    of(user)->on_streams_credit();
    return 0;
}
int handshake_done_cb(ngtcp2_conn*, void* user) { return of(user)->on_handshake_done(); }

ngtcp2_conn* get_conn_cb(ngtcp2_crypto_conn_ref* ref) { return of(ref->user_data)->native(); }

int verify_cb(gnutls_session_t s) {
    auto* ref = static_cast<ngtcp2_crypto_conn_ref*>(gnutls_session_get_ptr(s));
    return of(ref->user_data)->verify_peer(s);
}

void to_sockaddr(const udp::endpoint& e, sockaddr_storage& out, socklen_t& len) {
    std::memcpy(&out, e.data(), e.size());
    len = static_cast<socklen_t>(e.size());
}

}  // namespace

std::shared_ptr<link> link::make(strand ex, std::shared_ptr<udp::socket> socket, settings s,
                                 stream_handler on_stream,
                                 std::function<void(const std::string&)> closed) {
    return std::make_shared<conn>(std::move(ex), std::move(socket), std::move(s),
                                  std::move(on_stream), std::move(closed));
}

conn::conn(strand ex, std::shared_ptr<udp::socket> socket, settings s, stream_handler on_stream,
           std::function<void(const std::string&)> closed)
    : strand_(std::move(ex)),
      socket_(std::move(socket)),
      cfg_(std::move(s)),
      on_stream_(std::move(on_stream)),
      on_closed_(std::move(closed)),
      timer_(strand_),
      tx_(64u << 10) {
    ref_.get_conn = get_conn_cb;
    ref_.user_data = this;
    boost::system::error_code ec;
    const auto local = socket_->local_endpoint(ec);
    to_sockaddr(local, local_, local_len_);
    to_sockaddr(cfg_.peer, remote_, remote_len_);
}

conn::~conn() {
    if (conn_) ngtcp2_conn_del(conn_);
    if (tls_) gnutls_deinit(tls_);
    if (client_cred_) gnutls_certificate_free_credentials(client_cred_);
}

// ---- making the connection ----

bool conn::make_tls() {
    const bool server = cfg_.server;
    unsigned flags = GNUTLS_ENABLE_EARLY_DATA | GNUTLS_NO_END_OF_EARLY_DATA;
    flags |= server ? GNUTLS_SERVER | GNUTLS_NO_AUTO_SEND_TICKET : GNUTLS_CLIENT;
    if (gnutls_init(&tls_, flags) != 0) return false;
    if (gnutls_priority_set_direct(tls_, priority, nullptr) != 0) return false;
    const int configured = server ? ngtcp2_crypto_gnutls_configure_server_session(tls_)
                                  : ngtcp2_crypto_gnutls_configure_client_session(tls_);
    if (configured != 0) return false;
    gnutls_session_set_ptr(tls_, &ref_);
    if (server) {
        if (!cfg_.id) return false;
        auto* cred = static_cast<gnutls_certificate_credentials_t>(cfg_.id->credentials());
        if (gnutls_credentials_set(tls_, GNUTLS_CRD_CERTIFICATE, cred) != 0) return false;
        gnutls_certificate_server_set_request(tls_, GNUTLS_CERT_IGNORE);
    } else {
        if (gnutls_certificate_allocate_credentials(&client_cred_) != 0) return false;
        if (gnutls_credentials_set(tls_, GNUTLS_CRD_CERTIFICATE, client_cred_) != 0) return false;
        gnutls_session_set_verify_function(tls_, verify_cb);
    }
    gnutls_datum_t proto{reinterpret_cast<unsigned char*>(const_cast<char*>(alpn)),
                         static_cast<unsigned>(sizeof alpn - 1)};
    if (gnutls_alpn_set_protocols(tls_, &proto, 1, GNUTLS_ALPN_MANDATORY) != 0) return false;
    ngtcp2_conn_set_tls_native_handle(conn_, tls_);
    return true;
}

bool conn::make_conn(const ngtcp2_pkt_hd* initial, const endpoint& from) {
    ngtcp2_callbacks cb{};
    cb.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
    cb.encrypt = ngtcp2_crypto_encrypt_cb;
    cb.decrypt = ngtcp2_crypto_decrypt_cb;
    cb.hp_mask = ngtcp2_crypto_hp_mask_cb;
    cb.update_key = ngtcp2_crypto_update_key_cb;
    cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
    cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
    cb.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
    cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
    cb.rand = random_cb;
    cb.get_new_connection_id = new_cid_cb;
    cb.recv_stream_data = stream_data_cb;
    cb.stream_open = stream_open_cb;
    cb.stream_close = stream_close_cb;
    cb.stream_reset = stream_reset_cb;
    cb.acked_stream_data_offset = acked_cb;
    cb.extend_max_stream_data = extend_stream_cb;
    cb.extend_max_local_streams_bidi = streams_credit_cb;
    cb.handshake_completed = handshake_done_cb;
    if (cfg_.server) {
        cb.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
    } else {
        cb.client_initial = ngtcp2_crypto_client_initial_cb;
        cb.recv_retry = ngtcp2_crypto_recv_retry_cb;
    }

    ngtcp2_settings st;
    ngtcp2_settings_default(&st);
    st.initial_ts = now_ns();
    st.cc_algo = NGTCP2_CC_ALGO_CUBIC;
    st.max_window = 64 * MiB;
    st.max_stream_window = 32 * MiB;
    st.handshake_timeout = 5 * NGTCP2_SECONDS;
    if (std::getenv("BURROW_QUIC_DEBUG")) st.log_printf = debug_printf;

    ngtcp2_transport_params params;
    ngtcp2_transport_params_default(&params);
    params.initial_max_stream_data_bidi_local = 4 * MiB;
    params.initial_max_stream_data_bidi_remote = 4 * MiB;
    params.initial_max_data = 16 * MiB;
    params.initial_max_streams_bidi = cfg_.server ? 256 : 0;
    params.initial_max_streams_uni = 0;
    params.max_idle_timeout = 30 * NGTCP2_SECONDS;
    params.active_connection_id_limit = 4;

    ngtcp2_path path{{reinterpret_cast<sockaddr*>(&local_), local_len_},
                     {reinterpret_cast<sockaddr*>(&remote_), remote_len_},
                     nullptr};
    ngtcp2_cid scid;
    scid.datalen = 16;
    random_bytes(scid.data, scid.datalen);
    int rv = 0;
    if (cfg_.server) {
        cfg_.peer = from;
        to_sockaddr(from, remote_, remote_len_);
        params.original_dcid = initial->dcid;
        params.stateless_reset_token_present = 1;
        random_bytes(params.stateless_reset_token, sizeof params.stateless_reset_token);
        rv = ngtcp2_conn_server_new(&conn_, &initial->scid, &scid, &path, initial->version, &cb,
                                    &st, &params, nullptr, this);
    } else {
        ngtcp2_cid dcid;
        dcid.datalen = 18;
        random_bytes(dcid.data, dcid.datalen);
        rv = ngtcp2_conn_client_new(&conn_, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &cb, &st,
                                    &params, nullptr, this);
    }
    if (rv != 0) {
        fail("cannot make a QUIC connection", rv);
        return false;
    }
    // Below the keepalives of the path (15 s): the QUIC idle timer never
    // fires while the peer is there.
    ngtcp2_conn_set_keep_alive_timeout(conn_, 10 * NGTCP2_SECONDS);
    if (!make_tls()) {
        fail("cannot set up TLS for QUIC");
        return false;
    }
    return true;
}

void conn::start() {
    if (cfg_.server || conn_ || closed_) return;
    if (make_conn(nullptr, cfg_.peer)) flush();
}

// ---- reading ----

void conn::receive(std::span<const std::uint8_t> packet, const endpoint& from) {
    if (closed_) return;
    if (!conn_) {
        // Only the punched peer may open the connection, with an Initial.
        ngtcp2_pkt_hd hd;
        if (!cfg_.server || from != cfg_.peer ||
            ngtcp2_accept(&hd, packet.data(), packet.size()) != 0)
            return;
        if (!make_conn(&hd, from)) return;
    }
    sockaddr_storage src{};
    socklen_t src_len = 0;
    to_sockaddr(from, src, src_len);
    ngtcp2_path path{{reinterpret_cast<sockaddr*>(&local_), local_len_},
                     {reinterpret_cast<sockaddr*>(&src), src_len},
                     nullptr};
    ngtcp2_pkt_info pi{};
    const int rv = ngtcp2_conn_read_pkt(conn_, &path, &pi, packet.data(), packet.size(), now_ns());
    if (rv != 0) {
        if (rv == NGTCP2_ERR_DRAINING) return finish_close("the peer closed the connection");
        if (rv == NGTCP2_ERR_CRYPTO && !fail_why_.empty()) return fail(fail_why_, rv);
        if (ngtcp2_err_is_fatal(rv)) return fail("QUIC error", rv);
        quic_log().debug("{} a packet from {} dropped: {}", cfg_.tag, fmt::streamed(from),
                         ngtcp2_strerror(rv));
        return;
    }
    after_read();
    want_write();  // once for all the datagrams read in this turn
}

int conn::on_stream_data(std::int64_t id, std::uint32_t flags, const std::uint8_t* data, std::size_t n) {
    auto it = streams_.find(id);
    if (it == streams_.end()) return 0;
    it->second->received({data, n}, (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0);
    touched_.push_back(it->second->shared_from_this());
    return 0;
}

int conn::on_stream_open(std::int64_t id) {
    // Only the visitor (client) opens streams, and only bidirectional ones.
    if (!cfg_.server || !ngtcp2_is_bidi_stream(id)) return 0;
    auto s = std::make_shared<qstream>(shared_from_this());
    s->id = id;
    streams_[id] = s.get();
    owned_[s.get()] = s;
    arrived_.push_back(std::move(s));
    return 0;
}

void conn::on_stream_close(std::int64_t id) {
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    it->second->quic_closed = true;
    touched_.push_back(it->second->shared_from_this());
}

void conn::on_acked(std::int64_t id, std::uint64_t offset, std::uint64_t n) {
    if (auto it = streams_.find(id); it != streams_.end()) it->second->acked(offset, n);
}

void conn::on_extend_stream(std::int64_t id) {
    if (auto it = streams_.find(id); it != streams_.end()) it->second->blocked = false;
}

void conn::on_streams_credit() {
    while (!unbound_.empty()) {
        std::int64_t id = -1;
        if (ngtcp2_conn_open_bidi_stream(conn_, &id, nullptr) != 0) return;
        auto s = std::move(unbound_.front());
        unbound_.pop_front();
        s->id = id;
        streams_[id] = s.get();
    }
    want_write();
}

int conn::on_handshake_done() {
    std::array<std::uint8_t, 32> exported{};
    if (gnutls_prf_rfc5705(tls_, sizeof exporter_label - 1, exporter_label, 0, nullptr,
                           exported.size(), reinterpret_cast<char*>(exported.data())) != 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    std::string text(proof_context, sizeof proof_context);  // with its NUL
    text.append(reinterpret_cast<const char*>(exported.data()), exported.size());
    std::string mac(32, '\0');
    if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, cfg_.key.data(), cfg_.key.size(), text.data(),
                         text.size(), mac.data()) != 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    {
        std::lock_guard lock(proof_mutex_);
        proof_ = std::move(mac);
    }
    ready_.store(true, std::memory_order_release);
    quic_log().info("{} QUIC connection up ({})", cfg_.tag, cfg_.server ? "home" : "visitor");
    return 0;
}

int conn::verify_peer(gnutls_session_t s) {
    unsigned n = 0;
    const gnutls_datum_t* certs = gnutls_certificate_get_peers(s, &n);
    if (certs == nullptr || n == 0) {
        fail_why_ = "the home client showed no certificate";
        return -1;
    }
    if (sha256_of({certs[0].data, certs[0].size}) != cfg_.pinned) {
        fail_why_ = "the home client's certificate is not the one the server announced";
        return -1;
    }
    return 0;
}

// After ngtcp2 has read a packet: new streams to their owner, data to
// the readers, closed streams forgotten once finished.
void conn::after_read() {
    for (auto& s : std::exchange(arrived_, {}))
        if (on_stream_) on_stream_(s.get(), *this);
    for (auto& s : std::exchange(touched_, {})) {
        s->deliver();
        if (s->quic_closed) s->broken();
        release(s.get());
    }
    ngtcp2_conn_stat stat;
    ngtcp2_conn_get_conn_stat(conn_, &stat);
    rtt_ms_.store(static_cast<double>(stat.smoothed_rtt) / 1e6, std::memory_order_relaxed);
}

// ---- streams ----

stream::carrier* conn::open_stream() {
    if (!ready() || closed_) return nullptr;
    auto s = std::make_shared<qstream>(shared_from_this());
    asio::post(strand_, [self = shared_from_this(), s] { self->bind(s); });
    return s.get();  // the strand's queue holds it until bind() does
}

void conn::bind(const std::shared_ptr<qstream>& s) {
    owned_[s.get()] = s;
    if (closed_) return s->broken();
    std::int64_t id = -1;
    if (ngtcp2_conn_open_bidi_stream(conn_, &id, nullptr) != 0) {
        unbound_.push_back(s);  // on_streams_credit() binds it
        return;
    }
    s->id = id;
    streams_[id] = s.get();
    want_write();
}

void conn::consumed(std::int64_t id, std::size_t n) {
    if (!conn_ || closed_ || n == 0) return;
    ngtcp2_conn_extend_max_stream_offset(conn_, id, n);
    ngtcp2_conn_extend_max_offset(conn_, n);
    want_write();
}

void conn::shutdown(std::int64_t id, bool ok) {
    if (!conn_ || closed_ || id < 0) return;
    if (!ok) ngtcp2_conn_shutdown_stream(conn_, id, 1);
    want_write();
}

void conn::release(qstream* s) {
    if (!s->done() || !(s->quic_closed || closed_)) return;
    if (s->id >= 0 && streams_.erase(s->id) && cfg_.server && !closed_)
        ngtcp2_conn_extend_max_streams_bidi(conn_, 1);
    owned_.erase(s);  // may be the last reference: `s` is gone after this
}

std::string conn::proof() const {
    std::lock_guard lock(proof_mutex_);
    return proof_;
}

// ---- ending ----

void conn::close(const std::string& why) {
    asio::post(strand_, [self = shared_from_this(), why] {
        if (self->closed_) return;
        if (self->conn_ && !ngtcp2_conn_is_in_closing_period(self->conn_) &&
            !ngtcp2_conn_is_in_draining_period(self->conn_)) {
            ngtcp2_connection_close_error err;
            ngtcp2_connection_close_error_default(&err);
            ngtcp2_path_storage ps;
            ngtcp2_path_storage_zero(&ps);
            ngtcp2_pkt_info pi{};
            const auto n = ngtcp2_conn_write_connection_close(self->conn_, &ps.path, &pi,
                                                              self->tx_.data(), self->tx_.size(),
                                                              &err, now_ns());
            boost::system::error_code ignored;
            if (n > 0)
                self->socket_->send_to(asio::buffer(self->tx_.data(), static_cast<std::size_t>(n)),
                                       self->cfg_.peer, 0, ignored);
        }
        self->finish_close(why);
    });
}

void conn::fail(const std::string& why, int liberr) {
    const auto text = liberr ? fmt::format("{}: {}", why, ngtcp2_strerror(liberr)) : why;
    quic_log().warn("{} QUIC connection failed: {}", cfg_.tag, text);
    finish_close(text);
}

void conn::finish_close(const std::string& why) {
    if (closed_) return;
    closed_ = true;
    ready_.store(false, std::memory_order_release);
    timer_.cancel();
    quic_log().info("{} QUIC connection closed: {}", cfg_.tag, why);
    // Every stream fails; those already finished are dropped, the others
    // once their pump finishes them (qstream::finish).
    unbound_.clear();
    std::vector<std::shared_ptr<qstream>> all;
    for (auto& [p, s] : owned_) all.push_back(s);
    for (auto& s : all) {
        s->broken();
        release(s.get());
    }
    if (auto done = std::move(on_closed_)) done(why);
    on_stream_ = nullptr;
}

}  // namespace burrow::quic
