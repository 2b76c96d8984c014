#include "server/dashboard/access.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>

#include "common/net_util.hpp"

namespace burrow::dashboard {

namespace {

using digest = std::array<unsigned char, 32>;

digest sha256(std::string_view s) {
    digest d{};
    unsigned int n = 0;
    EVP_Digest(s.data(), s.size(), d.data(), &n, EVP_sha256(), nullptr);
    return d;
}

// Equal strings, in time that does not depend on where they differ.
bool same_secret(std::string_view a, std::string_view b) {
    const auto da = sha256(a), db = sha256(b);
    return CRYPTO_memcmp(da.data(), db.data(), da.size()) == 0;
}

// "Basic <base64(user:password)>" -> user:password, or nullopt.
std::optional<std::string> basic_credentials(std::string_view header) {
    constexpr std::string_view scheme = "Basic ";
    if (header.size() <= scheme.size() || header.size() > 1024) return std::nullopt;
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(header[i])) !=
            std::tolower(static_cast<unsigned char>(scheme[i])))
            return std::nullopt;
    auto b64 = header.substr(scheme.size());
    while (!b64.empty() && b64.front() == ' ') b64.remove_prefix(1);
    while (!b64.empty() && b64.back() == ' ') b64.remove_suffix(1);
    if (b64.empty() || b64.size() % 4 != 0) return std::nullopt;
    std::string out(b64.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(b64.data()),
                                  static_cast<int>(b64.size()));
    if (n < 0) return std::nullopt;
    std::size_t len = static_cast<std::size_t>(n);
    for (auto it = b64.rbegin(); it != b64.rend() && *it == '='; ++it) --len;  // padding
    out.resize(len);
    return out;
}

}  // namespace

std::string_view cookie_value(std::string_view header, std::string_view name) {
    while (!header.empty()) {
        const auto end = std::min(header.find(';'), header.size());
        auto pair = header.substr(0, end);
        header.remove_prefix(std::min(end + 1, header.size()));
        while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
        const auto eq = pair.find('=');
        if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
    }
    return {};
}

access::access(std::string user, std::string password, limits l)
    : user_(std::move(user)),
      password_(std::move(password)),
      limits_(l),
      strikes_({l.failures, l.window, l.addresses}) {}

bool access::right(std::string_view user, std::string_view password) const {
    // Both compared, so that a wrong user takes as long as a wrong password.
    const bool u = same_secret(user, user_);
    const bool p = same_secret(password, password_);
    return u && p;
}

std::chrono::seconds access::blocked_for(const boost::asio::ip::address& from,
                                         clock::time_point now) {
    return strikes_.blocked_for(from, now);
}

std::optional<access::pass> access::check(std::string_view authorization, std::string_view cookie,
                                          const boost::asio::ip::address& from,
                                          clock::time_point now) {
    if (open()) return pass{};
    std::lock_guard lock(mutex_);
    if (auto value = cookie_value(cookie, cookie_name); !value.empty()) {
        if (auto it = logins_.find(value); it != logins_.end()) {
            if (now < it->second.expires) return pass{how::cookie, it->second.csrf};
            logins_.erase(it);
        }
    }
    if (authorization.empty() || strikes_.blocked_for(from, now).count() > 0) return std::nullopt;
    auto credentials = basic_credentials(authorization);
    if (!credentials) return std::nullopt;
    const auto colon = credentials->find(':');
    if (colon != std::string::npos &&
        right(std::string_view(*credentials).substr(0, colon),
              std::string_view(*credentials).substr(colon + 1)))
        return pass{how::basic, {}};
    strikes_.failed(from, now);
    return std::nullopt;
}

access::login_result access::login(std::string_view user, std::string_view password,
                                   const boost::asio::ip::address& from, clock::time_point now) {
    std::lock_guard lock(mutex_);
    login_result r;
    if (auto wait = strikes_.blocked_for(from, now); wait.count() > 0) {
        r.outcome = login_result::limited;
        r.retry_after = wait;
        return r;
    }
    if (!right(user, password)) {
        strikes_.failed(from, now);
        r.outcome = login_result::wrong;
        return r;
    }
    strikes_.forgive(from);
    std::erase_if(login_order_, [this](const std::string& v) { return !logins_.count(v); });
    while (logins_.size() >= limits_.sessions && !login_order_.empty()) {
        logins_.erase(login_order_.front());
        login_order_.pop_front();
    }
    r.outcome = login_result::ok;
    r.cookie_value = random_hex(32);
    r.csrf = random_hex(16);
    logins_[r.cookie_value] = {r.csrf, now + limits_.session_life};
    login_order_.push_back(r.cookie_value);
    return r;
}

void access::logout(std::string_view cookie) {
    std::lock_guard lock(mutex_);
    const auto value = cookie_value(cookie, cookie_name);
    if (value.empty()) return;
    if (auto it = logins_.find(value); it != logins_.end()) logins_.erase(it);
    std::erase(login_order_, value);
}

bool access::check_csrf(const pass& p, std::string_view header_value, bool header_present) {
    if (!header_present || header_value.empty()) return false;
    if (p.by == how::cookie) return same_secret(header_value, p.csrf);
    return true;
}

}  // namespace burrow::dashboard
