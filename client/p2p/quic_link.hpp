// quic_link: one QUIC connection (ngtcp2 0.12 + GnuTLS) over a punched UDP
// path, sharing the path's socket with STUN and punch packets: a punch
// packet is 42 bytes starting 0x0E, STUN has the magic cookie; the rest goes
// to QUIC, whose own authentication drops what is not its.
//
//   visitor (QUIC client)                         home (QUIC server)
//   ---------------------                         ------------------
//   start(): Initial ------------------------->   the first Initial from the
//                                                 punched peer makes the conn
//   the home's certificate must have the SHA-256 fingerprint the server
//   passed on (PunchStart), or the handshake fails
//   open_stream(): one bidirectional stream   ->  on_stream(carrier)
//     per session, frames length-prefixed           (the head frame proves
//     (quic_stream.cpp)                              the punch key: proof())
//
// Each stream is a stream::carrier (carrier.hpp): the session layer's pump
// runs on it exactly as on a gRPC Work stream. Flow-control windows start at
// 4 MiB per stream and are auto-tuned by ngtcp2 up to 32 MiB (stream) and
// 64 MiB (connection): at least 1 Gbit/s x 100 ms per session. Congestion
// control is CUBIC.
//
// Threads: everything runs on the path's strand; the calls marked "any
// thread" post there. The link lives while its path or any stream holds it.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/strand.hpp>

#include "client/p2p/quic_identity.hpp"

namespace burrow::stream {
class carrier;
}

namespace burrow::quic {

// The ALPN both ends insist on.
inline constexpr char alpn[] = "burrow-p2p/1";

class link {
public:
    using endpoint = boost::asio::ip::udp::endpoint;
    using strand = boost::asio::strand<boost::asio::any_io_executor>;

    struct settings {
        bool server = false;                    // the home side
        endpoint peer;                          // the punched peer
        std::shared_ptr<const identity> id;     // server: ours
        fingerprint pinned{};                   // client: the home's certificate
        std::array<std::uint8_t, 32> key{};     // the punch key: streams prove it
        std::string tag;                        // for the log
    };
    // Home side: a stream the visitor opened on `on`; its first frame is a
    // head carrying the proof. The receiver attaches a pump (set_events) at once.
    using stream_handler = std::function<void(stream::carrier*, const link& on)>;

    // `socket` is the path's (open, non-blocking); `closed` is told once,
    // with why, when the connection ends (on the strand).
    static std::shared_ptr<link> make(strand ex, std::shared_ptr<boost::asio::ip::udp::socket> socket,
                                      settings s, stream_handler on_stream,
                                      std::function<void(const std::string& why)> closed);
    virtual ~link() = default;

    // On the strand: the client sends its Initial; a server waits.
    virtual void start() = 0;
    // On the strand: a datagram from `from` that is neither STUN nor a punch packet.
    virtual void receive(std::span<const std::uint8_t> packet, const endpoint& from) = 0;
    // Any thread: ends the connection (CONNECTION_CLOSE to the peer); every
    // stream fails. Idempotent.
    virtual void close(const std::string& why) = 0;
    // Any thread: the handshake is done and the connection open.
    virtual bool ready() const = 0;
    // Any thread: a new stream, or nullptr when not ready. The caller
    // attaches a pump to it (set_events) before its first read or write.
    virtual stream::carrier* open_stream() = 0;
    // Any thread, once ready: HMAC-SHA256(punch key, "burrow direct v1" ||
    // TLS exporter): what a visitor's stream head carries and the home
    // checks. Bound to this TLS session, so it cannot be replayed on another.
    virtual std::string proof() const = 0;
    // Any thread: the smoothed RTT, ms (0 before a sample).
    virtual double rtt_ms() const = 0;
    virtual const endpoint& peer() const = 0;
};

}  // namespace burrow::quic
