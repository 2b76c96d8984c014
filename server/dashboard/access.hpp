// access: who may use the dashboard. With a password, a request passes with
// HTTP basic auth (scripts, Prometheus) or with the cookie of a login made on
// the page; failed attempts are limited per source address. Without one (a
// loopback address only; the config enforces it) everyone passes.
//
// State-changing requests need a CSRF proof (check_csrf). Pure code, no I/O;
// thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ip/address.hpp>

#include "server/failure_budget.hpp"

namespace burrow::dashboard {

class access {
public:
    using clock = std::chrono::steady_clock;
    struct limits {
        std::size_t failures = 5;                     // per address and window
        std::chrono::seconds window{60};
        std::size_t addresses = 4096;                 // remembered at most
        std::size_t sessions = 64;                    // logins kept; the oldest goes
        std::chrono::hours session_life{24};
    };
    access(std::string user, std::string password, limits l);
    access(std::string user, std::string password) : access(std::move(user), std::move(password), {}) {}

    bool open() const { return password_.empty(); }
    const std::string& user() const { return user_; }

    enum class how { none, cookie, basic };
    struct pass {
        how by = how::none;
        std::string csrf;  // the login's token (cookie); "" otherwise
    };
    // The request's Authorization and Cookie headers. nullopt: not let in. A
    // wrong basic password counts as a failed login of `from`.
    std::optional<pass> check(std::string_view authorization, std::string_view cookie,
                              const boost::asio::ip::address& from, clock::time_point now);

    struct login_result {
        enum { ok, wrong, limited } outcome = wrong;
        std::string cookie_value, csrf;
        std::chrono::seconds retry_after{0};
    };
    login_result login(std::string_view user, std::string_view password,
                       const boost::asio::ip::address& from, clock::time_point now);
    void logout(std::string_view cookie);

    // Seconds until `from` may try again (0: now).
    std::chrono::seconds blocked_for(const boost::asio::ip::address& from, clock::time_point now);

    // A POST is made by our page (or a script), not by a form of another site:
    // a cookie login sends its token in X-CSRF-Token; basic auth and an open
    // dashboard need the header present (a cross-site form cannot set it).
    static bool check_csrf(const pass& p, std::string_view header_value, bool header_present);

    static constexpr std::string_view cookie_name = "burrow_dashboard";

private:
    bool right(std::string_view user, std::string_view password) const;

    const std::string user_;
    const std::string password_;
    const limits limits_;

    struct kept_login {
        std::string csrf;
        clock::time_point expires;
    };
    failure_budget strikes_;  // failed logins per address
    std::mutex mutex_;
    std::map<std::string, kept_login, std::less<>> logins_;  // by cookie value
    std::deque<std::string> login_order_;
};

// The value of cookie `name` in a Cookie header ("" when absent).
std::string_view cookie_value(std::string_view header, std::string_view name);

}  // namespace burrow::dashboard
