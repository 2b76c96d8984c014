// The rendezvous for direct (P2P) paths (DESIGN.md §6): a STUN Binding
// service on two UDP ports, `port` and `port + 1`. A peer that asks both
// from one socket learns whether its NAT maps it to one public address for
// every destination (a cone) or a new one per destination (symmetric); one
// that asks for the answer from the other port (RFC 5780 CHANGE-REQUEST)
// learns whether its NAT lets in packets from a port it never sent to.
//
// Anyone may ask (STUN has no login), so answers are paid for from an
// answer_budget, and an answer is never larger than its request by more than
// the address it reports: the service cannot amplify a forged-source flood.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace burrow {

class rendezvous {
public:
    struct counters {
        std::atomic<std::uint64_t> answered{0};
        std::atomic<std::uint64_t> limited{0};  // over the answer budget: dropped
        std::atomic<std::uint64_t> ignored{0};  // not a Binding request we answer
    };

    explicit rendezvous(boost::asio::io_context& io);
    ~rendezvous();
    rendezvous(const rendezvous&) = delete;
    rendezvous& operator=(const rendezvous&) = delete;

    // Binds UDP `port` and `port + 1` on `host`; port 0 takes any free pair.
    // Throws std::runtime_error naming the address.
    void bind(const std::string& host, std::uint16_t port);
    std::uint16_t port() const;  // the first of the two; 0 before bind()

    void start();
    // Closes both sockets; idempotent. Handlers still queued end on their own.
    void stop();

    const counters& stats() const;

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace burrow
