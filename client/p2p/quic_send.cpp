// The QUIC connection's writer (quic_conn.hpp): flush() fills packets from
// the streams round robin until ngtcp2 has nothing more to send or the send
// quantum is used, sends them in GSO batches, and the timer then waits for
// ngtcp2's next expiry (pacing, loss, ACK delay, idle).
#include <cstring>

#include <boost/asio/post.hpp>

#include "client/p2p/quic_conn.hpp"
#include "client/p2p/udp_batch.hpp"

namespace burrow::quic {

namespace asio = boost::asio;
using udp = asio::ip::udp;

void conn::want_write() {
    if (write_posted_ || closed_) return;
    write_posted_ = true;
    asio::post(strand_, [self = shared_from_this()] {
        self->write_posted_ = false;
        self->flush();
    });
}

qstream* conn::next_sender() {
    if (streams_.empty()) return nullptr;
    auto it = streams_.upper_bound(rotor_);
    for (std::size_t i = 0; i < streams_.size(); ++i, ++it) {
        if (it == streams_.end()) it = streams_.begin();
        if (!it->second->blocked && it->second->wants_to_send()) {
            rotor_ = it->first;
            return it->second;
        }
    }
    return nullptr;
}

bool conn::send_batch(const std::uint8_t* p, std::size_t n, std::size_t segment) {
    const auto ec = udp_batch::send(socket_->native_handle(), cfg_.peer, {p, n}, segment, gso_);
    if (ec != asio::error::would_block && ec != asio::error::try_again) return true;
    // The socket's buffer is full: keep the batch, go on when it has room.
    stalled_.emplace_back(std::vector<std::uint8_t>(p, p + n), segment);
    if (!std::exchange(waiting_writable_, true))
        socket_->async_wait(udp::socket::wait_write,
                            [self = shared_from_this()](const boost::system::error_code&) {
                                self->waiting_writable_ = false;
                                self->flush();
                            });
    return false;
}

// Fills packets from the streams and sends them in batches of equal size
// (one sendmsg each, GSO): a shorter packet ends a batch, a larger one
// starts the next.
void conn::flush() {
    if (!conn_ || closed_ || waiting_writable_) return;
    while (!stalled_.empty()) {
        auto [bytes, segment] = std::move(stalled_.front());
        stalled_.pop_front();
        if (!send_batch(bytes.data(), bytes.size(), segment)) return;
    }
    const auto ts = now_ns();
    // Up to the send quantum, and at least one full GSO batch: flushing
    // fewer packets per turn held the home's sending to 0.68 Gbit/s on
    // loopback (1.9 with this floor; congestion control still bounds it).
    const std::size_t quantum = ngtcp2_conn_get_send_quantum(conn_);
    const std::size_t limit = std::max<std::size_t>(quantum / max_packet, 64);
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    std::size_t used = 0, segment = 0;
    bool room = true;
    for (std::size_t packets = 0; packets < limit && room;) {
        qstream* s = next_sender();
        std::array<ngtcp2_vec, 16> v{};
        bool fin = false;
        const std::size_t count = s ? s->unsent(v.data(), v.size(), fin) : 0;
        std::uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
        if (fin) flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
        ngtcp2_ssize taken = -1;
        ngtcp2_pkt_info pi{};
        auto* at = tx_.data() + used;
        const auto n = ngtcp2_conn_writev_stream(conn_, &ps.path, &pi, at, max_packet, &taken, flags,
                                                 s ? s->id : -1, v.data(), count, ts);
        if (n < 0) {
            if (n == NGTCP2_ERR_WRITE_MORE) {
                s->sent(static_cast<std::size_t>(taken), fin);
                continue;
            }
            if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED || n == NGTCP2_ERR_STREAM_SHUT_WR ||
                n == NGTCP2_ERR_STREAM_NOT_FOUND) {
                if (s) s->blocked = true;
                continue;
            }
            return fail("QUIC error while sending", static_cast<int>(n));
        }
        if (s && taken >= 0) s->sent(static_cast<std::size_t>(taken), fin);
        if (n == 0) break;
        ++packets;
        const auto size = static_cast<std::size_t>(n);
        if (used > 0 && size > segment) {  // larger than the batch's: the batch goes first
            if (!send_batch(tx_.data(), used, segment)) {
                send_batch(at, size, size);  // queued behind it
                break;
            }
            std::memmove(tx_.data(), at, size);
            used = 0;
        }
        if (used == 0) segment = size;
        used += size;
        if (size < segment || used + max_packet > tx_.size()) {
            room = send_batch(tx_.data(), used, segment);
            used = 0;
        }
    }
    if (used > 0) send_batch(tx_.data(), used, segment);
    ngtcp2_conn_update_pkt_tx_time(conn_, ts);
    arm_timer();
}

// The timer waits for ngtcp2's next expiry; an armed timer that fires
// sooner than needed is harmless (handle_expiry does nothing, and re-arms),
// so it is only moved for an earlier expiry: not once per packet.
void conn::arm_timer() {
    const auto expiry = ngtcp2_conn_get_expiry(conn_);
    if (expiry == UINT64_MAX || (timer_at_ != 0 && expiry >= timer_at_)) return;
    timer_at_ = expiry;
    const auto generation = ++timer_generation_;
    const auto now = now_ns();
    const auto wait = expiry > now ? std::chrono::nanoseconds(expiry - now) : std::chrono::nanoseconds(0);
    timer_.expires_after(wait);
    timer_.async_wait([self = shared_from_this(), generation](const boost::system::error_code& ec) {
        if (ec || self->closed_ || generation != self->timer_generation_) return;
        self->timer_at_ = 0;
        const int rv = ngtcp2_conn_handle_expiry(self->conn_, now_ns());
        if (rv != 0) {
            if (rv == NGTCP2_ERR_IDLE_CLOSE) return self->finish_close("idle: no packet from the peer");
            return self->fail("QUIC timer", rv);
        }
        self->flush();
    });
}

}  // namespace burrow::quic
