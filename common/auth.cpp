#include "common/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <initializer_list>
#include <stdexcept>
#include <utility>

namespace burrow::auth {

std::string random_bytes(std::size_t n) {
    std::string out(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
        throw std::runtime_error("RAND_bytes failed");
    return out;
}

namespace {

std::string hmac_sha256(std::string_view key, std::string_view msg) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &len);
    return std::string(reinterpret_cast<const char*>(mac), len);
}

// The fields joined by NUL bytes (none of them holds one but the nonce, which comes last).
std::string joined(std::initializer_list<std::string_view> fields) {
    std::string msg;
    bool first = true;
    for (const auto f : fields) {
        if (!std::exchange(first, false)) msg.push_back('\0');
        msg.append(f);
    }
    return msg;
}

}  // namespace

std::string make_proof(std::string_view token, std::string_view client_id,
                       std::int64_t timestamp, std::string_view nonce) {
    return hmac_sha256(token, joined({client_id, std::to_string(timestamp), nonce}));
}

std::string visit_key(std::string_view secret_key) {
    return hmac_sha256(secret_key, "burrow visit key v1");
}

std::string make_visit_proof(std::string_view visit_key, std::string_view visitor_id,
                             std::string_view server_name, std::int64_t timestamp,
                             std::string_view nonce) {
    return hmac_sha256(visit_key,
                       joined({"visit", visitor_id, server_name, std::to_string(timestamp), nonce}));
}

bool same_proof(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

const char* to_string(verdict v) {
    switch (v) {
        case verdict::ok: return "ok";
        case verdict::bad_proof: return "bad token proof";
        case verdict::clock_skew: return "timestamp outside the allowed clock skew";
        case verdict::replayed: return "replayed login (nonce seen before)";
        case verdict::malformed: return "malformed login";
    }
    return "?";
}

bool nonce_window::in_window(std::int64_t timestamp, std::int64_t now) {
    const std::int64_t skew = max_clock_skew.count();
    return timestamp >= now - skew && timestamp <= now + skew;
}

verdict nonce_window::admit(std::int64_t timestamp, std::string_view nonce, std::int64_t now) {
    if (nonce.size() != nonce_size) return verdict::malformed;
    if (!in_window(timestamp, now)) return verdict::clock_skew;
    constexpr std::int64_t clock_step = 60;  // seconds the wall clock may step back
    const std::int64_t forget_before = now - max_clock_skew.count() - clock_step;
    std::lock_guard lock(mutex_);
    // Forget nonces whose timestamp can no longer pass the window check. (In
    // arrival order: one with a later timestamp ahead holds the rest a while.)
    while (!by_age_.empty() &&
           (by_age_.front().first < forget_before || by_age_.size() >= max_nonces_)) {
        seen_.erase(by_age_.front().second);
        by_age_.pop_front();
    }
    key k;
    std::copy(nonce.begin(), nonce.end(), k.begin());
    if (!seen_.insert(k).second) return verdict::replayed;
    by_age_.emplace_back(timestamp, k);
    return verdict::ok;
}

std::size_t nonce_window::remembered() {
    std::lock_guard lock(mutex_);
    return seen_.size();
}

verifier::verifier(tokens t, std::size_t max_nonces)
    : tokens_(std::move(t)), nonces_(max_nonces) {}

const std::string& verifier::token_of(std::string_view client_id) const {
    auto it = tokens_.per_client.find(client_id);
    return it != tokens_.per_client.end() ? it->second : tokens_.shared;
}

verdict verifier::check(std::string_view client_id, std::int64_t timestamp,
                        std::string_view nonce, std::string_view proof,
                        std::int64_t now) {
    if (nonce.size() != nonce_size || proof.size() != 32 || client_id.empty() ||
        client_id.size() > 256)
        return verdict::malformed;
    if (!nonce_window::in_window(timestamp, now)) return verdict::clock_skew;
    std::string expected;
    {
        std::lock_guard lock(mutex_);
        const auto& token = token_of(client_id);
        // No token for this id: a proof that cannot match, computed all the same.
        expected = make_proof(token.empty() ? random_bytes(32) : token, client_id, timestamp, nonce);
    }
    if (!same_proof(expected, proof)) return verdict::bad_proof;
    return nonces_.admit(timestamp, nonce, now);
}

void verifier::set_tokens(tokens t) {
    std::lock_guard lock(mutex_);
    tokens_ = std::move(t);
}

std::string verifier::credential(std::string_view client_id) const {
    std::lock_guard lock(mutex_);
    const auto& token = token_of(client_id);
    return token.empty() ? std::string() : hmac_sha256(token, "burrow credential v1");
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace burrow::auth
