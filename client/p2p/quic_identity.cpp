#include "client/p2p/quic_identity.hpp"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <chrono>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>

namespace burrow::quic {

namespace {

void check(int rv, const char* what) {
    if (rv < 0) throw std::runtime_error(fmt::format("{}: {}", what, gnutls_strerror(rv)));
}

// Frees what GnuTLS made, on every way out.
struct key_holder {
    gnutls_x509_privkey_t key = nullptr;
    gnutls_x509_crt_t crt = nullptr;
    gnutls_datum_t der{};
    ~key_holder() {
        if (der.data) gnutls_free(der.data);
        if (crt) gnutls_x509_crt_deinit(crt);
        if (key) gnutls_x509_privkey_deinit(key);
    }
};

}  // namespace

std::shared_ptr<const identity> identity::make() {
    key_holder h;
    check(gnutls_x509_privkey_init(&h.key), "private key");
    check(gnutls_x509_privkey_generate(h.key, GNUTLS_PK_ECDSA,
                                       GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
          "generating a P-256 key");
    check(gnutls_x509_crt_init(&h.crt), "certificate");
    check(gnutls_x509_crt_set_version(h.crt, 3), "certificate version");
    std::array<unsigned char, 16> serial{};
    check(gnutls_rnd(GNUTLS_RND_NONCE, serial.data(), serial.size()), "serial");
    serial[0] &= 0x7f;  // a positive number
    check(gnutls_x509_crt_set_serial(h.crt, serial.data(), serial.size()), "serial");
    const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    check(gnutls_x509_crt_set_activation_time(h.crt, now - 3600), "activation time");
    check(gnutls_x509_crt_set_expiration_time(h.crt, now + 10L * 365 * 24 * 3600),
          "expiration time");
    static constexpr char cn[] = "burrow direct path";
    check(gnutls_x509_crt_set_dn_by_oid(h.crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, sizeof cn - 1),
          "subject");
    check(gnutls_x509_crt_set_key(h.crt, h.key), "certificate key");
    check(gnutls_x509_crt_sign2(h.crt, h.crt, h.key, GNUTLS_DIG_SHA256, 0), "signing");
    check(gnutls_x509_crt_export2(h.crt, GNUTLS_X509_FMT_DER, &h.der), "export");

    std::shared_ptr<identity> id(new identity());
    id->sha256_ = sha256_of({h.der.data, h.der.size});
    gnutls_certificate_credentials_t cred = nullptr;
    check(gnutls_certificate_allocate_credentials(&cred), "credentials");
    id->cred_ = cred;
    check(gnutls_certificate_set_x509_key(cred, &h.crt, 1, h.key), "credentials key");
    return id;
}

std::shared_ptr<const identity> identity::shared() {
    static std::mutex m;
    static std::shared_ptr<const identity> one;
    std::lock_guard lock(m);
    if (!one) one = make();
    return one;
}

identity::~identity() {
    if (cred_) gnutls_certificate_free_credentials(static_cast<gnutls_certificate_credentials_t>(cred_));
}

fingerprint sha256_of(std::span<const std::uint8_t> der) {
    fingerprint out{};
    check(gnutls_hash_fast(GNUTLS_DIG_SHA256, der.data(), der.size(), out.data()), "SHA-256");
    return out;
}

std::string to_hex(const fingerprint& f) {
    std::string out;
    for (auto b : f) out += fmt::format("{:02x}", b);
    return out;
}

}  // namespace burrow::quic
