// Secret proxies by name: the client session that serves each, the key its
// visitors prove they know (derived from secret_key, which the server never
// sees), and the clients that may visit. A visitor's hello is checked here.
//
// Failed visits are counted per source address: past max_failures in a
// minute, that address is refused without a check until the minute is over,
// so a key cannot be guessed at the speed of the network. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <absl/base/thread_annotations.h>
#include <absl/synchronization/mutex.h>
#include <boost/asio/ip/address.hpp>

#include "common/auth.hpp"
#include "server/failure_budget.hpp"

namespace burrow {

class client_session;

class secret_table {
public:
    using clock = std::chrono::steady_clock;
    static constexpr std::size_t max_failures = 10;  // per source address and minute

    struct proxy {
        std::string client_id;  // who serves it
        std::weak_ptr<client_session> owner;
        std::string visit_key;  // auth::visit_key(secret_key)
        std::vector<std::string> allow_clients;  // empty = any logged-in client
    };
    // What a visitor sent (VisitHello), and who it is.
    struct visit {
        std::string_view visitor_id;  // the visiting client's id (from its login)
        std::string_view server_name, server_client;
        std::int64_t timestamp = 0;
        std::string_view nonce, proof;
    };
    struct verdict {
        std::shared_ptr<client_session> owner;  // null: refused
        std::string client_id;                  // the owner's
        std::string refusal;                    // for the visitor and the log
    };

    void add(const std::string& name, proxy p);
    // Removes `name` if `owner` still serves it.
    void remove(const std::string& name, const client_session* owner);
    verdict check(const visit& v, const boost::asio::ip::address& source, clock::time_point now,
                  std::int64_t unix_now);

private:

    absl::Mutex mutex_;
    std::map<std::string, proxy, std::less<>> proxies_ ABSL_GUARDED_BY(mutex_);
    failure_budget failures_{{max_failures, std::chrono::seconds(60)}};  // per source address
    auth::nonce_window nonces_;
};

}  // namespace burrow
