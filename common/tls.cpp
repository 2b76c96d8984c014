#include "common/tls.hpp"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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

// Writes `data` to `path` whole or not at all: into a temporary file created
// with the final mode (a private key is never world-readable, even briefly),
// synced, then renamed over `path`. A full disk leaves nothing behind that
// the next start would take for a key or a certificate.
void write_file(const std::filesystem::path& path, const std::string& data, mode_t mode) {
    const std::string tmp = path.string() + ".new";
    const auto fail = [&](const char* what) {
        const std::string why = std::strerror(errno);
        ::unlink(tmp.c_str());
        throw std::runtime_error(fmt::format("cannot {} {}: {}", what, path.string(), why));
    };
    ::unlink(tmp.c_str());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) fail("create");
    for (std::size_t done = 0; done < data.size();) {
        const auto n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) errno = ENOSPC;
            const int saved = errno;
            ::close(fd);
            errno = saved;
            fail("write");
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) {
        const int saved = errno;
        ::close(fd);
        errno = saved;
        fail("write");
    }
    if (::close(fd) != 0) fail("write");
    if (::rename(tmp.c_str(), path.c_str()) != 0) fail("write");
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
    constexpr std::uintmax_t max_size = 1 << 20;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        throw std::runtime_error("cannot read " + path +
                                 (ec ? ": " + ec.message() : ": not a regular file"));
    if (std::filesystem::file_size(path, ec) > max_size)
        throw std::runtime_error("cannot read " + path + ": larger than 1 MiB");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::string text(max_size + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_size)
        throw std::runtime_error("cannot read " + path + ": larger than 1 MiB");
    return text;
}

namespace {

// A TCP connection with `timeout` on connect and on every read and write; -1 on failure.
int connect_with_timeout(const std::string& host, std::uint16_t port,
                         std::chrono::milliseconds timeout) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return -1;
    int fd = -1;
    for (auto* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
        fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        timeval tv{static_cast<time_t>(timeout.count() / 1000),
                   static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);  // connect() too, on Linux
        if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            ::close(fd);
            fd = -1;
        }
    }
    ::freeaddrinfo(found);
    return fd;
}

struct fd_closer {
    int fd;
    ~fd_closer() { ::close(fd); }
};

// The first bytes the server sends after `question`; empty on close or timeout.
std::string first_answer(const std::string& host, std::uint16_t port,
                         std::chrono::milliseconds timeout, std::string_view question) {
    const int fd = connect_with_timeout(host, port, timeout);
    if (fd < 0) return {};
    fd_closer closer{fd};
    if (::send(fd, question.data(), question.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(question.size()))
        return {};
    char buf[16];
    std::string got;
    while (got.size() < 9) {  // a TLS record header is 5 bytes, an HTTP/2 frame header 9
        const ssize_t k = ::recv(fd, buf, sizeof buf, 0);
        if (k <= 0) break;
        got.append(buf, static_cast<std::size_t>(k));
    }
    return got;
}

// The ClientHello OpenSSL would send, taken from a memory BIO (no socket: a
// write to a server that has closed must not raise SIGPIPE).
std::string client_hello() {
    std::unique_ptr<SSL_CTX, deleter<SSL_CTX_free>> ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx) return {};
    static const unsigned char alpn[] = {2, 'h', '2'};
    SSL_CTX_set_alpn_protos(ctx.get(), alpn, sizeof alpn);
    std::unique_ptr<SSL, deleter<SSL_free>> ssl(SSL_new(ctx.get()));
    if (!ssl) return {};
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl.get(), in, out);  // owned by ssl now
    SSL_connect(ssl.get());            // wants to read the answer: the hello is in `out`
    return bio_string(out);
}

}  // namespace

server_protocol probe_server(const std::string& host, std::uint16_t port,
                             std::chrono::milliseconds timeout) {
    const auto tls_answer = first_answer(host, port, timeout, client_hello());
    // A handshake record (0x16) or an alert (0x15), version 3.x.
    if (tls_answer.size() >= 3 && (tls_answer[0] == 0x16 || tls_answer[0] == 0x15) &&
        tls_answer[1] == 0x03)
        return server_protocol::tls;
    // The preface and an empty SETTINGS frame; a server answers with SETTINGS (type 4).
    static constexpr char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\4\0\0\0\0\0";
    const auto h2_answer =
        first_answer(host, port, timeout, std::string_view(preface, sizeof preface - 1));
    if (h2_answer.size() >= 9 && h2_answer[3] == 4) return server_protocol::plain_http2;
    return server_protocol::unknown;
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
    // A pair is used only when both files exist: one written alone (the
    // disk filled up, the process was killed) is made again next time.
    fs::remove(cert_path, ec);
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
