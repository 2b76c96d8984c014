// The home client's TLS identity for QUIC on direct paths: an ECDSA P-256
// key and a self-signed certificate made in memory at first use, never
// written anywhere. Visitors do not trust it by a CA: its SHA-256
// fingerprint travels to them through the server (PunchAnswer ->
// PunchStart), and the QUIC handshake is refused unless the certificate the
// peer shows has exactly that fingerprint (quic_link.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace burrow::quic {

using fingerprint = std::array<std::uint8_t, 32>;  // SHA-256 of the certificate (DER)

class identity {
public:
    // Throws std::runtime_error when GnuTLS cannot make one.
    static std::shared_ptr<const identity> make();
    // One per process, made on first call.
    static std::shared_ptr<const identity> shared();
    ~identity();
    identity(const identity&) = delete;
    identity& operator=(const identity&) = delete;

    const fingerprint& sha256() const noexcept { return sha256_; }
    // gnutls_certificate_credentials_t, for a server session.
    void* credentials() const noexcept { return cred_; }

private:
    identity() = default;
    void* cred_ = nullptr;
    fingerprint sha256_{};
};

// SHA-256 of `der`.
fingerprint sha256_of(std::span<const std::uint8_t> der);
std::string to_hex(const fingerprint& f);

}  // namespace burrow::quic
