#include "common/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace burrow::auth {

std::string random_bytes(std::size_t n) {
    std::string out(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
        throw std::runtime_error("RAND_bytes failed");
    return out;
}

std::string make_proof(std::string_view token, std::string_view client_id,
                       std::int64_t timestamp, std::string_view nonce) {
    std::string msg;
    msg.reserve(client_id.size() + nonce.size() + 24);
    msg.append(client_id);
    msg.push_back('\0');
    msg.append(std::to_string(timestamp));
    msg.push_back('\0');
    msg.append(nonce);

    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), token.data(), static_cast<int>(token.size()),
         reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &len);
    return std::string(reinterpret_cast<const char*>(mac), len);
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

verifier::verifier(std::string token, std::size_t max_nonces)
    : token_(std::move(token)), max_nonces_(max_nonces) {}

verdict verifier::check(std::string_view client_id, std::int64_t timestamp,
                        std::string_view nonce, std::string_view proof,
                        std::int64_t now) {
    if (nonce.size() != nonce_size || proof.size() != 32 || client_id.empty() ||
        client_id.size() > 256)
        return verdict::malformed;
    const std::int64_t skew = max_clock_skew.count();
    if (timestamp < now - skew || timestamp > now + skew) return verdict::clock_skew;

    const std::string expected = make_proof(token_, client_id, timestamp, nonce);
    if (CRYPTO_memcmp(expected.data(), proof.data(), expected.size()) != 0)
        return verdict::bad_proof;

    std::lock_guard lock(mutex_);
    // Forget nonces whose timestamp can no longer pass the window check.
    while (!by_age_.empty() &&
           (by_age_.front().first < now - 2 * skew || by_age_.size() >= max_nonces_)) {
        seen_.erase(by_age_.front().second);
        by_age_.pop_front();
    }
    if (!seen_.emplace(nonce).second) return verdict::replayed;
    by_age_.emplace_back(timestamp, std::string(nonce));
    return verdict::ok;
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace burrow::auth
