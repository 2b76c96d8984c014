// The TLS server name of a ClientHello, as the https vhost reads it: real
// ClientHellos made by OpenSSL, cut and re-framed the ways a network delivers them.
#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "server/vhost/client_hello.hpp"

namespace burrow::vhost {
namespace {

// The first flight of an OpenSSL client: one or more TLS records holding a ClientHello.
std::string client_hello(const char* server_name) {
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                          SSL_CTX_free);
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl.get(), in, out);  // owned by ssl now
    if (server_name != nullptr) SSL_set_tlsext_host_name(ssl.get(), server_name);
    SSL_set_connect_state(ssl.get());
    SSL_do_handshake(ssl.get());  // wants to read the answer: fine
    char* data = nullptr;
    const long n = BIO_get_mem_data(out, &data);
    return std::string(data, static_cast<std::size_t>(n));
}

// The same handshake bytes, re-framed as records of at most `fragment` bytes.
std::string reframe(const std::string& records, std::size_t fragment) {
    const std::string handshake = records.substr(5);  // one record from OpenSSL
    std::string out;
    for (std::size_t at = 0; at < handshake.size(); at += fragment) {
        const auto piece = handshake.substr(at, fragment);
        out += records.substr(0, 3);
        out += static_cast<char>(piece.size() >> 8);
        out += static_cast<char>(piece.size() & 0xff);
        out += piece;
    }
    return out;
}

TEST(sni, reads_the_server_name) {
    std::string name;
    EXPECT_EQ(parse_client_hello_sni(client_hello("nas.example.com"), name), sni_result::found);
    EXPECT_EQ(name, "nas.example.com");
}

TEST(sni, every_prefix_needs_more) {
    const auto hello = client_hello("nas.example.com");
    for (std::size_t n = 0; n < hello.size(); ++n) {
        std::string name;
        ASSERT_EQ(parse_client_hello_sni(hello.substr(0, n), name), sni_result::need_more) << n;
    }
}

TEST(sni, a_hello_split_over_records_is_gathered) {
    const auto hello = client_hello("split.example.com");
    ASSERT_EQ(static_cast<unsigned char>(hello[0]), 22);
    for (std::size_t fragment : {1u, 7u, 100u}) {
        std::string name;
        EXPECT_EQ(parse_client_hello_sni(reframe(hello, fragment), name), sni_result::found)
            << fragment;
        EXPECT_EQ(name, "split.example.com");
    }
}

TEST(sni, a_hello_without_server_name) {
    std::string name;
    EXPECT_EQ(parse_client_hello_sni(client_hello(nullptr), name), sni_result::none);
}

TEST(sni, other_bytes_are_malformed) {
    std::string name;
    EXPECT_EQ(parse_client_hello_sni("GET / HTTP/1.1\r\nHost: a\r\n\r\n", name),
              sni_result::malformed);
    auto hello = client_hello("nas.example.com");
    hello[5] = 2;  // a ServerHello where the ClientHello should be
    EXPECT_EQ(parse_client_hello_sni(hello, name), sni_result::malformed);
    // A length inside the hello pointing past its end.
    hello = client_hello("nas.example.com");
    hello[5 + 4 + 2 + 32] = static_cast<char>(0xff);  // session id length
    EXPECT_EQ(parse_client_hello_sni(hello, name), sni_result::malformed);
}

}  // namespace
}  // namespace burrow::vhost
