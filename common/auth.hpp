// Login proof: the client proves it knows the shared token without sending it.
//
// proof = HMAC-SHA256(token, client_id || 0x00 || decimal(timestamp) || 0x00 || nonce)
// The server accepts a proof only inside a +-5 minute window and only once per
// nonce, so a captured login cannot be replayed. Pure code: no I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
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

enum class verdict { ok, bad_proof, clock_skew, replayed, malformed };
const char* to_string(verdict v);

// Checks proofs and remembers nonces for twice the skew window. Thread-safe.
// Memory is bounded: nonces older than the window are forgotten (a proof that
// old is rejected for its timestamp anyway), and at most `max_nonces` are kept.
class verifier {
public:
    explicit verifier(std::string token, std::size_t max_nonces = 1 << 20);

    verdict check(std::string_view client_id, std::int64_t timestamp, std::string_view nonce,
                  std::string_view proof, std::int64_t now_unix_seconds);

private:
    std::string token_;
    std::size_t max_nonces_;
    std::mutex mutex_;
    std::unordered_set<std::string> seen_;
    std::deque<std::pair<std::int64_t, std::string>> by_age_;  // (timestamp, nonce), arrival order
};

std::int64_t unix_now();

}  // namespace burrow::auth
