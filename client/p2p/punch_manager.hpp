// The client's direct paths (DESIGN.md §6), on both sides of a visit:
//
//  visitor side: the first local connection of a visitor with p2p = true
//    starts an attempt (its connection goes over the relay at once, never
//    waiting): discover our candidates, send a PunchRequest (proved like a
//    visit) through the Control stream, get the home client's candidates in
//    a PunchStart, punch. A failed attempt is retried later, at most
//    `max_attempts_per_hour`; a path that dies is punched again at once from
//    a fresh port.
//  home side: a PunchOffer for one of our secret proxies with p2p = true:
//    discover, answer with our candidates, punch.
//
// The Control stream is reached through `hooks` (no protobuf here). All
// state is guarded by one mutex; the paths run on their own strands.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <absl/base/thread_annotations.h>
#include <absl/synchronization/mutex.h>
#include <boost/asio/any_io_executor.hpp>

#include "client/p2p/direct_path.hpp"

namespace burrow {

struct client_config;
struct visitor_config;
class config_source;

struct punch_request_msg {
    std::uint64_t request_id = 0;
    std::string server_name, server_client;
    std::int64_t timestamp = 0;
    std::string nonce, proof;
    std::vector<std::string> candidates;
    bool mapping_varies = false;  // our NAT is symmetric
};
struct punch_offer_msg {
    std::uint64_t punch_id = 0;
    std::string proxy, visitor, nonce;
    std::vector<std::string> candidates;
    bool mapping_varies = false;  // the visitor's NAT is symmetric
};
struct punch_answer_msg {
    std::uint64_t punch_id = 0;
    std::vector<std::string> candidates;
    std::string error;
    std::string cert_sha256;  // our QUIC certificate's, 32 bytes
    bool mapping_varies = false;
};
struct punch_start_msg {
    std::uint64_t request_id = 0, punch_id = 0;
    std::vector<std::string> candidates;
    std::string error;
    std::string cert_sha256;  // the home's
    bool mapping_varies = false;  // the home's NAT is symmetric
};

class punch_manager {
public:
    static constexpr int max_attempts_per_hour = 12;

    struct hooks {
        // Each returns false when not logged in (the message was not sent).
        std::function<bool(const punch_request_msg&)> send_request;
        std::function<bool(const punch_answer_msg&)> send_answer;
        // Home side: a visitor opened a QUIC stream on the direct path of
        // `proxy` (from client `visitor`): serve it (direct_session.hpp).
        std::function<void(stream::carrier*, const std::string& proxy, const std::string& visitor,
                           const quic::link& on)>
            serve_stream;
    };
    // What `burrow-client status` lists.
    struct entry {
        std::string role;  // "visitor" or "home"
        std::string name;  // the visitor's or the secret proxy's
        std::string peer;  // "home (via ssh-secret)" / the visitor's client_id
        direct_path::snapshot path;
    };

    // `config`: the visitors and proxies in force (a reload changes them).
    punch_manager(boost::asio::any_io_executor ex, std::shared_ptr<const config_source> config,
                  hooks h);
    ~punch_manager();

    // Where the server's rendezvous is, from the latest login (port 0: none);
    // `host` is resolved here.
    void set_rendezvous(const std::string& host, std::uint16_t port);

    void want(const visitor_config& v);      // visitor side
    // Our route to the server changed (Wi-Fi -> 4G): every visitor path is
    // punched again, from a fresh port, once we have logged in again.
    void network_changed();
    void on_start(const punch_start_msg& m);  // visitor side
    void on_offer(const punch_offer_msg& m);  // home side

    // Visitor side: the direct path's QUIC connection for `visitor`, when
    // it is up and ready; nullptr otherwise (the relay it is).
    std::shared_ptr<quic::link> link_for(const std::string& visitor) const;

    std::vector<entry> list() const;
    void stop();

    // Tests shorten the timers.
    direct_path::settings& timings() { return timings_; }

private:
    struct attempt;
    void want_locked(const visitor_config& v) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
    void start_attempt(const std::string& visitor) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
    void on_visitor_path(const std::string& visitor, std::uint64_t request_id,
                         const direct_path::snapshot& s);

    boost::asio::any_io_executor ex_;
    std::shared_ptr<const config_source> config_;
    hooks hooks_;
    direct_path::settings timings_;

    mutable absl::Mutex mutex_;
    bool stopped_ ABSL_GUARDED_BY(mutex_) = false;
    std::optional<boost::asio::ip::udp::endpoint> rendezvous_ ABSL_GUARDED_BY(mutex_);
    std::uint64_t rendezvous_generation_ ABSL_GUARDED_BY(mutex_) = 0;
    std::uint64_t next_request_ ABSL_GUARDED_BY(mutex_) = 1;
    // Visitors that wanted a direct path before the rendezvous was known.
    std::set<std::string> waiting_for_rendezvous_ ABSL_GUARDED_BY(mutex_);
    // Visitor side, by visitor name.
    std::map<std::string, std::shared_ptr<attempt>> visits_ ABSL_GUARDED_BY(mutex_);
    // Home side, by punch id.
    std::map<std::uint64_t, std::shared_ptr<attempt>> homes_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace burrow
