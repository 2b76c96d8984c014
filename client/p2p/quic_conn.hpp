// Inside of quic_link (quic_link.hpp): the connection (quic_link.cpp) and
// its streams (quic_stream.cpp). Only those two files include this.
#pragma once

#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <gnutls/gnutls.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "client/p2p/quic_link.hpp"
#include "common/stream/carrier.hpp"

namespace burrow::quic {

class conn;

// ngtcp2's clock: nanoseconds of the steady clock.
inline ngtcp2_tstamp now_ns() {
    return static_cast<ngtcp2_tstamp>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
}
// The largest packet we write (PMTUD may raise the path's size to this).
inline constexpr std::size_t max_packet = 1452;

// One bidirectional QUIC stream as a carrier. Frames go on it as
// [u32 length, big-endian][the frame as on a gRPC stream] (frame_codec).
// Its state is the connection's strand's; the carrier calls post there.
class qstream final : public stream::carrier, public std::enable_shared_from_this<qstream> {
public:
    explicit qstream(std::shared_ptr<conn> owner) : owner_(std::move(owner)) {}

    // ---- stream::carrier, any thread ----
    void read(stream::frame* into) override;
    void write(const stream::frame& f) override;
    void cancel() override;
    void set_events(std::shared_ptr<events> e) override;
    void finish(bool ok) override;
    std::string_view path() const noexcept override { return "p2p"; }

    // ---- the connection's side, on the strand ----
    std::int64_t id = -1;   // -1 until ngtcp2 gave one
    bool blocked = false;   // by the peer's flow control, until it extends it
    // Up to `max` vectors of bytes not yet handed to ngtcp2; fin: nothing
    // more will come (finish(true) was called) once these are sent.
    std::size_t unsent(ngtcp2_vec* v, std::size_t max, bool& fin) const;
    bool wants_to_send() const;
    // ngtcp2 took `n` more bytes (and the fin, when `fin`).
    void sent(std::size_t n, bool fin);
    // The peer acknowledged bytes up to `offset + n`: they may go.
    void acked(std::uint64_t offset, std::size_t n);
    void received(std::span<const std::uint8_t> data, bool fin);
    // Delivers a complete frame to an outstanding read.
    void deliver();
    // The stream (or the whole connection) is gone: outstanding operations fail.
    void broken();
    bool done() const { return finished_ && !reading_; }
    bool quic_closed = false;

private:
    struct piece {
        std::array<std::uint8_t, 48> head{};  // a length prefix and a data header
        stream::chunk data;                   // or payload bytes
        const std::uint8_t* p = nullptr;
        std::size_t size = 0;
        std::uint64_t start = 0;  // stream offset of the first byte
    };
    void push_piece(piece&& pc);
    void on_write(std::vector<piece> pieces);
    void complete_read(bool ok);

    std::shared_ptr<conn> owner_;
    std::shared_ptr<events> events_;
    stream::frame* into_ = nullptr;
    bool reading_ = false;
    // outgoing: pieces from the oldest unacknowledged byte on
    std::deque<piece> out_;
    std::size_t first_unsent_ = 0;  // index in out_ of the first piece not wholly sent
    std::uint64_t queued_ = 0, sent_ = 0, acked_ = 0;
    std::uint64_t write_end_ = 0;   // where the outstanding write's bytes end
    bool writing_ = false;
    bool fin_wanted_ = false, fin_sent_ = false;
    // incoming
    std::vector<std::uint8_t> in_;
    std::size_t in_pos_ = 0;
    bool in_fin_ = false;
    bool broken_ = false;
    bool finished_ = false;
};

class conn final : public link, public std::enable_shared_from_this<conn> {
public:
    conn(strand ex, std::shared_ptr<boost::asio::ip::udp::socket> socket, settings s,
         stream_handler on_stream, std::function<void(const std::string&)> closed);
    ~conn() override;

    void start() override;
    void receive(std::span<const std::uint8_t> packet, const endpoint& from) override;
    void close(const std::string& why) override;
    bool ready() const override { return ready_.load(std::memory_order_acquire); }
    stream::carrier* open_stream() override;
    std::string proof() const override;
    double rtt_ms() const override { return rtt_ms_.load(std::memory_order_relaxed); }
    const endpoint& peer() const override { return cfg_.peer; }

    // ---- for qstream, on the strand ----
    const strand& executor() const { return strand_; }
    // Something to send: runs the writer soon (once per turn of the strand).
    void want_write();
    // The stream consumed `n` received bytes: the peer may send that much more.
    void consumed(std::int64_t id, std::size_t n);
    void shutdown(std::int64_t id, bool ok);
    // Lets go of a stream once its pump finished it and QUIC is done with it.
    void release(qstream* s);
    void bind(const std::shared_ptr<qstream>& s);  // a local stream gets its id
    bool gone() const { return closed_; }

    // ---- ngtcp2 / GnuTLS callbacks ----
    ngtcp2_conn* native() const { return conn_; }
    int on_stream_data(std::int64_t id, std::uint32_t flags, const std::uint8_t* data, std::size_t n);
    int on_stream_open(std::int64_t id);
    void on_stream_close(std::int64_t id);
    void on_acked(std::int64_t id, std::uint64_t offset, std::uint64_t n);
    void on_extend_stream(std::int64_t id);
    void on_streams_credit();
    int on_handshake_done();
    int verify_peer(gnutls_session_t s);

private:
    bool make_conn(const ngtcp2_pkt_hd* initial, const endpoint& from);
    bool make_tls();
    void flush();
    // Sends a batch of packets of `segment` bytes (GSO); false when the
    // socket is full: the batch waits in stalled_ until it has room.
    bool send_batch(const std::uint8_t* p, std::size_t n, std::size_t segment);
    void arm_timer();
    void after_read();
    void fail(const std::string& why, int liberr = 0);
    void finish_close(const std::string& why);
    qstream* next_sender();

    ngtcp2_crypto_conn_ref ref_{};
    strand strand_;
    std::shared_ptr<boost::asio::ip::udp::socket> socket_;
    settings cfg_;
    stream_handler on_stream_;
    std::function<void(const std::string&)> on_closed_;
    boost::asio::steady_timer timer_;
    ngtcp2_conn* conn_ = nullptr;
    gnutls_session_t tls_ = nullptr;
    gnutls_certificate_credentials_t client_cred_ = nullptr;
    sockaddr_storage local_{}, remote_{};
    socklen_t local_len_ = 0, remote_len_ = 0;

    // Every stream not yet released, and those with an id by id.
    std::map<const qstream*, std::shared_ptr<qstream>> owned_;
    std::map<std::int64_t, qstream*> streams_;
    std::deque<std::shared_ptr<qstream>> unbound_;   // opened before credit
    std::vector<std::shared_ptr<qstream>> touched_;  // got data this packet
    std::vector<std::shared_ptr<qstream>> arrived_;  // opened by the peer this packet
    std::int64_t rotor_ = -1;                         // round robin among senders
    std::vector<std::uint8_t> tx_;
    // Batches the socket had no room for, with their segment size.
    std::deque<std::pair<std::vector<std::uint8_t>, std::size_t>> stalled_;
    bool gso_ = true;                                // until the kernel refuses it
    bool write_posted_ = false, waiting_writable_ = false;
    std::uint64_t timer_at_ = 0, timer_generation_ = 0;  // when the armed timer fires
    bool closed_ = false;
    std::string fail_why_;
    std::atomic<bool> ready_{false};
    std::atomic<double> rtt_ms_{0};
    mutable std::mutex proof_mutex_;
    std::string proof_;
};

}  // namespace burrow::quic
