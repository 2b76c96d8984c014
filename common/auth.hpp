// Login proof: the client proves it knows the shared token without sending it.
//
// proof = HMAC-SHA256(token, client_id || 0x00 || decimal(timestamp) || 0x00 || nonce)
// The server accepts a proof only inside a +-5 minute window and only once per
// nonce, so a captured login cannot be replayed. Pure code: no I/O.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

namespace burrow::auth {

inline constexpr std::chrono::seconds max_clock_skew{300};
inline constexpr std::size_t nonce_size = 16;

std::string random_bytes(std::size_t n);
std::string make_proof(std::string_view token, std::string_view client_id,
                       std::int64_t timestamp, std::string_view nonce);

// A secret proxy's key as the server knows it: derived from secret_key, which
// never leaves the home client and the visitor.
// visit_key = HMAC-SHA256(secret_key, "burrow visit key v1")
std::string visit_key(std::string_view secret_key);
// A visitor's proof that it knows the key of `server_name`:
// HMAC-SHA256(visit_key, "visit" 0x00 visitor_id 0x00 server_name 0x00
//             decimal(timestamp) 0x00 nonce)
std::string make_visit_proof(std::string_view visit_key, std::string_view visitor_id,
                             std::string_view server_name, std::int64_t timestamp,
                             std::string_view nonce);
// Constant-time comparison of two proofs.
bool same_proof(std::string_view a, std::string_view b);

enum class verdict { ok, bad_proof, clock_skew, replayed, malformed };
const char* to_string(verdict v);

// The replay half of a check: a timestamp inside the +-max_clock_skew window,
// and a nonce never seen before. A nonce is remembered until its timestamp
// has been out of the window for a minute (a replay then fails the timestamp
// check, even after the wall clock stepped back by up to that minute), at
// most `max_nonces` of them, in about 72 bytes each: a server taking 200
// visits a second holds 72 000, 5 MiB. Thread-safe.
class nonce_window {
public:
    explicit nonce_window(std::size_t max_nonces = 1 << 20) : max_nonces_(max_nonces) {}
    static bool in_window(std::int64_t timestamp, std::int64_t now);
    // ok, malformed (not nonce_size bytes), clock_skew or replayed; an ok
    // nonce is remembered.
    verdict admit(std::int64_t timestamp, std::string_view nonce, std::int64_t now);
    std::size_t remembered();

private:
    using key = std::array<char, nonce_size>;
    struct key_hash {
        std::size_t operator()(const key& k) const noexcept {
            return std::hash<std::string_view>{}(std::string_view(k.data(), k.size()));
        }
    };
    std::size_t max_nonces_;
    std::mutex mutex_;
    std::unordered_set<key, key_hash> seen_;
    std::deque<std::pair<std::int64_t, key>> by_age_;  // (timestamp, nonce), arrival order
};

// The tokens a server accepts: a client id listed in `per_client` logs in
// with its own token only, any other with `shared` ("" = none).
struct tokens {
    std::string shared;
    std::map<std::string, std::string, std::less<>> per_client;  // client id -> token
};

// Checks login proofs against the token of the client id. Thread-safe; the
// tokens may be replaced while it runs (a reload).
class verifier {
public:
    explicit verifier(tokens t, std::size_t max_nonces = 1 << 20);

    verdict check(std::string_view client_id, std::int64_t timestamp, std::string_view nonce,
                  std::string_view proof, std::int64_t now_unix_seconds);

    void set_tokens(tokens t);
    // Stands for the token `client_id` logs in with now ("" = none), not
    // revealing it: a run keeps the one it logged in with, and a reload that
    // changes it (a revoked device) ends the run.
    std::string credential(std::string_view client_id) const;

private:
    const std::string& token_of(std::string_view client_id) const;  // under mutex_

    mutable std::mutex mutex_;
    tokens tokens_;
    nonce_window nonces_;
};

std::int64_t unix_now();

}  // namespace burrow::auth
