// One direct UDP path to one peer (DESIGN.md §6): a socket of its own on a
// fresh port, the address the rendezvous sees it as, the punch (both peers
// probe each other's candidates until an authenticated answer arrives), and
// then keepalives that notice when the path dies.
//
//   discover()  ->  our candidates (mapped address first), and whether our
//                   NAT maps each destination to a new port (symmetric)
//                                                         -> the peer, via the server
//   punch(...)  ->  punching -> up (peer address, RTT) | failed (why); when
//                   one side is symmetric, both spend a budget of extra
//                   ports (common/p2p/birthday.hpp)
//   up          ->  QUIC on the same socket (quic_link.hpp): the visitor
//                   connects, the home accepts the punched peer's Initial;
//                   a keepalive every `keepalive` while idle; no answer within
//                   `dead_after` -> failed ("no answer to keepalives"); the
//                   owner then punches again from a fresh socket (a stale
//                   conntrack entry may poison the old port).
//
// Everything runs on one strand; the handlers it is given run there too. The
// object is a handle: its inside lives as long as operations are pending,
// and closing (or destroying) the handle ends them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/udp.hpp>

#include "client/p2p/quic_link.hpp"
#include "common/p2p/punch_packet.hpp"

namespace burrow {

class direct_path {
public:
    using endpoint = boost::asio::ip::udp::endpoint;
    using clock = std::chrono::steady_clock;

    enum class state { idle, discovering, punching, up, failed, closed };

    struct settings {
        punch::role self = punch::role::visitor;
        endpoint rendezvous;                         // the server's first STUN port
        bool allow_loopback = false;                 // peers on 127.0.0.0/8 (a test host)
        std::chrono::milliseconds discover_limit{1500};
        std::chrono::milliseconds punch_limit{5000};  // then the relay stays in use
        std::chrono::milliseconds probe_every{100};
        std::chrono::milliseconds keepalive{15000};
        std::chrono::milliseconds dead_after{5000};
        // Birthday probing against a symmetric NAT: when it starts (a cone
        // NAT with looser filtering lets the plain probes through before),
        // the extra sockets of the hard side, the probed ports of the easy
        // side, and how long the easy side takes to probe them all.
        std::chrono::milliseconds birthday_after{300};
        int birthday_sockets = 256;
        int birthday_ports = 2048;
        std::chrono::milliseconds birthday_spread{1500};
        std::string tag;                             // "[home-ssh]" for the log
        // QUIC: the home side serves with `identity` and hands each stream
        // the visitor opens to `on_stream`; the visitor pins the home's
        // certificate (given with punch()).
        std::shared_ptr<const quic::identity> identity;
        quic::link::stream_handler on_stream;
    };

    struct snapshot {
        state now = state::idle;
        std::optional<endpoint> peer;       // when up
        std::optional<endpoint> mapped;     // ours, as the rendezvous saw it
        std::uint16_t local_port = 0;
        double rtt_ms = 0;                  // when up: the latest probe's round trip
        clock::time_point last_answer{};    // of the peer, to a probe or keepalive
        std::string why;                    // when failed
        clock::time_point since{};          // of `now`
        std::uint64_t punch_id = 0;
        bool quic_ready = false;            // QUIC's handshake is done
        bool mapping_varies = false;        // our NAT is symmetric (after discovery)
        // Birthday probing (punching and after): extra sockets opened (hard
        // side) or ports of the peer probed (easy side); 0 when not used.
        int birthday_sockets = 0, birthday_ports = 0;
    };

    struct discovery {
        std::vector<std::string> candidates;  // mapped address first; empty: no socket
        bool mapping_varies = false;          // the rendezvous's two ports saw two mappings
    };

    direct_path(boost::asio::any_io_executor ex, settings s);
    ~direct_path();
    direct_path(const direct_path&) = delete;
    direct_path& operator=(const direct_path&) = delete;

    // Opens the socket and asks the rendezvous's two ports; `done` gets our
    // candidates (possibly only local ones, if it did not answer in time).
    void discover(std::function<void(discovery)> done);
    // Probes the peer's candidates with packets of attempt `punch_id` under
    // `key`; the visitor's QUIC accepts only a certificate with `pinned`.
    // `peer_varies`: the peer's NAT is symmetric (its discovery said so).
    void punch(std::uint64_t punch_id, const punch::key& key, const std::vector<std::string>& peer,
               bool peer_varies, const quic::fingerprint& pinned = {});
    // The QUIC connection once the path is up (nullptr before, and after
    // it failed). Thread-safe.
    std::shared_ptr<quic::link> link() const;
    // Ends the attempt as failed (the server refused it, say).
    void fail(std::string why);
    // Told every change of state (on the strand).
    void on_change(std::function<void(const snapshot&)> f);
    // Ends the attempt or the path, closes the socket. Idempotent.
    void close();
    // Thread-safe.
    snapshot now() const;

    static std::string_view to_string(state s);

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace burrow
