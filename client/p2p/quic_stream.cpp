// A QUIC stream as a carrier (quic_conn.hpp). Frames are length-prefixed:
// [u32 big-endian length][the frame's bytes as on a gRPC stream]. Sent
// bytes stay here, by reference to their chunks, until the peer's QUIC
// acknowledges them (ngtcp2 does not copy stream data); received bytes
// wait here until the pump reads the frame they make, and only then does
// the peer get that much more flow-control credit.
#include <boost/asio/post.hpp>

#include "client/p2p/quic_conn.hpp"
#include "common/stream/control_frame.hpp"
#include "common/stream/frame_codec.hpp"

namespace burrow::quic {

namespace asio = boost::asio;

namespace {
// The length prefix: a frame's payload plus its header, never more.
constexpr std::size_t max_wire_frame = stream::max_frame_data + 64;

void put_u32(std::uint8_t* p, std::size_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 24);
    p[1] = static_cast<std::uint8_t>(v >> 16);
    p[2] = static_cast<std::uint8_t>(v >> 8);
    p[3] = static_cast<std::uint8_t>(v);
}
std::size_t get_u32(const std::uint8_t* p) {
    return (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) | p[3];
}
}  // namespace

// ---- carrier calls: any thread, posted to the strand ----

void qstream::read(stream::frame* into) {
    asio::post(owner_->executor(), [self = shared_from_this(), into] {
        self->into_ = into;
        self->reading_ = true;
        self->deliver();
    });
}

void qstream::write(const stream::frame& f) {
    // Taken now (references to the payload): `f` is the caller's again.
    std::vector<piece> pieces(1);
    auto& prefix = pieces.front();
    if (f.type == stream::frame::kind::data) {
        const auto h = frame_codec::encode_data_header(f.offset, f.ack, f.fin, f.size);
        put_u32(prefix.head.data(), h.size + f.size);
        std::copy_n(h.buf.data(), h.size, prefix.head.data() + 4);
        prefix.size = 4 + h.size;
        for (const auto& c : f.data) {
            if (c.empty()) continue;
            piece body;
            body.data = c;
            body.size = c.size();
            pieces.push_back(std::move(body));
        }
    } else {
        const auto text = stream::serialize_control(f);
        put_u32(prefix.head.data(), text.size());
        prefix.size = 4;
        piece body;
        body.data = stream::chunk::copy_of(
            {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
        body.size = text.size();
        pieces.push_back(std::move(body));
    }
    asio::post(owner_->executor(), [self = shared_from_this(), pieces = std::move(pieces)]() mutable {
        self->on_write(std::move(pieces));
    });
}

void qstream::cancel() {
    asio::post(owner_->executor(), [self = shared_from_this()] {
        self->owner_->shutdown(self->id, false);
        self->broken();
    });
}

void qstream::set_events(std::shared_ptr<events> e) {
    asio::post(owner_->executor(), [self = shared_from_this(), e = std::move(e)]() mutable {
        self->events_ = std::move(e);
    });
}

void qstream::finish(bool ok) {
    asio::post(owner_->executor(), [self = shared_from_this(), ok] {
        self->finished_ = true;
        if (ok && !self->broken_) {
            self->fin_wanted_ = true;
            self->owner_->want_write();
        } else {
            self->owner_->shutdown(self->id, false);
            self->out_.clear();  // a reset stream sends nothing more
            self->first_unsent_ = 0;
        }
        if (self->reading_) self->complete_read(false);
        self->events_.reset();
        self->owner_->release(self.get());
    });
}

// ---- sending, on the strand ----

void qstream::push_piece(piece&& pc) {
    pc.start = queued_;
    queued_ += pc.size;
    out_.push_back(std::move(pc));
    // Point at the bytes where they now stay: a deque never moves its
    // elements on push_back or pop_front, and a small chunk keeps its bytes
    // inside itself.
    auto& b = out_.back();
    b.p = b.data.empty() ? b.head.data() : b.data.data();
}

void qstream::on_write(std::vector<piece> pieces) {
    if (broken_ || finished_) {
        if (auto ev = events_) ev->on_write_done(this, false);
        return;
    }
    for (auto& pc : pieces) push_piece(std::move(pc));
    write_end_ = queued_;
    writing_ = true;
    owner_->want_write();
}

bool qstream::wants_to_send() const {
    return id >= 0 && !broken_ && (sent_ < queued_ || (fin_wanted_ && !fin_sent_));
}

std::size_t qstream::unsent(ngtcp2_vec* v, std::size_t max, bool& fin) const {
    std::size_t n = 0;
    std::uint64_t covered = sent_;
    // From the first piece not wholly sent: those before it wait only for
    // their acknowledgement (up to a congestion window's worth).
    for (auto it = out_.begin() + static_cast<std::ptrdiff_t>(first_unsent_); it != out_.end(); ++it) {
        const auto& pc = *it;
        if (n == max) break;
        const auto end = pc.start + pc.size;
        const auto skip = static_cast<std::size_t>(sent_ > pc.start ? sent_ - pc.start : 0);
        v[n].base = const_cast<std::uint8_t*>(pc.p + skip);
        v[n].len = pc.size - skip;
        ++n;
        covered = end;
    }
    fin = fin_wanted_ && !fin_sent_ && covered == queued_;
    return n;
}

void qstream::sent(std::size_t n, bool fin) {
    sent_ += n;
    while (first_unsent_ < out_.size() &&
           out_[first_unsent_].start + out_[first_unsent_].size <= sent_)
        ++first_unsent_;
    if (fin && sent_ == queued_) fin_sent_ = true;
    if (writing_ && sent_ >= write_end_) {
        writing_ = false;
        if (auto ev = events_) ev->on_write_done(this, true);
    }
}

void qstream::acked(std::uint64_t offset, std::size_t n) {
    acked_ = std::max<std::uint64_t>(acked_, offset + n);
    while (!out_.empty() && out_.front().start + out_.front().size <= acked_) {
        out_.pop_front();
        if (first_unsent_ > 0) --first_unsent_;
    }
}

// ---- receiving, on the strand ----

void qstream::received(std::span<const std::uint8_t> data, bool fin) {
    if (in_pos_ > 0 && in_pos_ == in_.size()) {
        in_.clear();
        in_pos_ = 0;
    } else if (in_pos_ > (64u << 10) && in_pos_ * 2 > in_.size()) {
        in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(in_pos_));
        in_pos_ = 0;
    }
    in_.insert(in_.end(), data.begin(), data.end());
    if (fin) in_fin_ = true;
}

void qstream::deliver() {
    if (!reading_) return;
    const std::size_t have = in_.size() - in_pos_;
    const std::uint8_t* at = in_.data() + in_pos_;
    if (have >= 4) {
        const std::size_t len = get_u32(at);
        auto& f = *into_;
        if (len > max_wire_frame) {
            stream::set_malformed(f, "a frame longer than 1 MiB");
            broken_ = true;
            return complete_read(true);
        }
        if (have >= 4 + len) {
            const std::span<const std::uint8_t> body(at + 4, len);
            f.clear();
            std::vector<frame_codec::bytes> parts{body};
            frame_codec::decoded d;
            if (auto err = frame_codec::decode(parts, d, stream::max_frame_data); !err.empty()) {
                stream::set_malformed(f, std::move(err));
            } else if (d.has_head || d.has_error) {
                stream::parse_control({reinterpret_cast<const char*>(body.data()), body.size()},
                                      d.has_head, f);
            } else {
                f.offset = d.offset;
                f.ack = d.ack;
                f.fin = d.fin;
                f.size = d.data_size;
                for (const auto& r : d.data) f.data.push_back(stream::chunk::copy_of(r));
            }
            in_pos_ += 4 + len;
            if (in_pos_ == in_.size()) {
                in_.clear();
                in_pos_ = 0;
                if (in_.capacity() > (1u << 20)) in_.shrink_to_fit();  // an idle stream holds little
            }
            owner_->consumed(id, 4 + len);
            return complete_read(true);
        }
    }
    if (in_fin_ || broken_) complete_read(false);
}

void qstream::complete_read(bool ok) {
    reading_ = false;
    into_ = nullptr;
    if (auto ev = events_) ev->on_read_done(this, ok);
}

void qstream::broken() {
    broken_ = true;
    deliver();  // a whole frame that arrived before still counts
    if (reading_) complete_read(false);
    if (writing_) {
        writing_ = false;
        if (auto ev = events_) ev->on_write_done(this, false);
    }
}

}  // namespace burrow::quic
