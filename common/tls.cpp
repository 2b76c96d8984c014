#include "common/tls.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace burrow::tls {
namespace {

template <auto fn>
struct deleter {
    template <class T>
    void operator()(T* p) const { fn(p); }
};
using bio_ptr = std::unique_ptr<BIO, deleter<BIO_free_all>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509_free>>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY_free>>;

std::string bio_string(BIO* bio) {
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(len));
}

void write_file(const std::filesystem::path& path, const std::string& data, mode_t mode) {
    // Create with the final mode so a private key is never world-readable, even briefly.
    std::filesystem::remove(path);
    std::ofstream out(path, std::ios::binary);
    ::chmod(path.c_str(), mode);
    out << data;
    if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
}

key_cert generate_self_signed() {
    pkey_ptr key(EVP_EC_gen("P-256"));
    if (!key) throw std::runtime_error("cannot generate an EC key");

    x509_ptr cert(X509_new());
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()),
                     static_cast<long>(std::time(nullptr) & 0x7fffffff));
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("burrow-server"), -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);

    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair{NID_subject_alt_name, "DNS:burrow-server"},
                              std::pair{NID_basic_constraints, "critical,CA:FALSE"}}) {
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
        X509_add_ext(cert.get(), ext, -1);
        X509_EXTENSION_free(ext);
    }
    if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
        throw std::runtime_error("cannot sign the self-signed certificate");

    bio_ptr key_bio(BIO_new(BIO_s_mem())), cert_bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    PEM_write_bio_X509(cert_bio.get(), cert.get());
    return {bio_string(key_bio.get()), bio_string(cert_bio.get())};
}

}  // namespace

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

key_cert load_pair(const std::string& cert_file, const std::string& key_file) {
    key_cert pair{read_file(key_file), read_file(cert_file)};
    if (fingerprint(pair.cert_pem).empty())
        throw std::runtime_error(cert_file + " holds no PEM certificate");
    return pair;
}

key_cert load_or_create_self_signed(const std::string& dir, bool& created) {
    namespace fs = std::filesystem;
    const fs::path key_path = fs::path(dir) / "server.key";
    const fs::path cert_path = fs::path(dir) / "server.crt";
    created = false;
    if (fs::exists(key_path) && fs::exists(cert_path))
        return load_pair(cert_path.string(), key_path.string());

    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw std::runtime_error("cannot create data_dir " + dir + ": " + ec.message());
    key_cert pair = generate_self_signed();
    write_file(key_path, pair.key_pem, 0600);
    write_file(cert_path, pair.cert_pem, 0644);
    created = true;
    return pair;
}

std::string fingerprint(std::string_view cert_pem) {
    bio_ptr bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
    x509_ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) return {};
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(cert.get(), EVP_sha256(), md, &len) != 1) return {};
    static constexpr char hex[] = "0123456789abcdef";
    std::string out = "sha256:";
    for (unsigned i = 0; i < len; ++i) {
        out.push_back(hex[md[i] >> 4]);
        out.push_back(hex[md[i] & 15]);
    }
    return out;
}

}  // namespace burrow::tls
