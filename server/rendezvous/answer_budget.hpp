// How many STUN answers the rendezvous may send, per source address and in
// all. The rendezvous answers anyone (STUN has no login), and UDP sources can
// be forged, so every answer is paid for: a source gets `per_source` answers a
// second (bursts of twice that), and all sources together `total` a second.
// A flood from one address, or from many forged ones, can therefore make the
// server send no more than `total` small packets a second.
//
// Pure bookkeeping over a clock the caller passes in; not thread-safe (one
// strand owns it).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include <boost/asio/ip/address.hpp>

namespace burrow {

class answer_budget {
public:
    using clock = std::chrono::steady_clock;

    struct limits {
        double per_source = 10;      // answers a second for one address; bursts of 2x
        double total = 2000;         // answers a second for all addresses; bursts of 1x
        std::size_t max_sources = 4096;  // addresses remembered; the rest share `total`
    };

    answer_budget() : answer_budget(limits{}) {}
    explicit answer_budget(const limits& l);

    // True when an answer to `source` may be sent now (and counts it).
    bool take(const boost::asio::ip::address& source, clock::time_point now);

    std::size_t sources() const { return buckets_.size(); }

private:
    struct bucket {
        double tokens;
        clock::time_point at;
    };
    // Tops `b` up for the time since it was last used.
    static void refill(bucket& b, double rate, double cap, clock::time_point now);
    // Forgets the addresses whose buckets have refilled (they are idle); at
    // most once a second, so that a flood of new sources costs no sweep each.
    void forget_idle(clock::time_point now);

    limits limits_;
    bucket total_;
    clock::time_point last_sweep_{};
    std::unordered_map<boost::asio::ip::address, bucket> buckets_;
};

}  // namespace burrow
