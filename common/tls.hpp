// Certificates for the client-server channel: a self-signed pair generated
// once into the server's data dir, and SHA-256 fingerprints the client pins.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace burrow::tls {

struct key_cert {
    std::string key_pem;
    std::string cert_pem;
};

// Loads <dir>/server.key and <dir>/server.crt, creating the directory and a
// fresh self-signed EC P-256 pair (10 years, CN=burrow-server) when absent.
// `created` tells whether a new pair was written. Throws std::runtime_error.
key_cert load_or_create_self_signed(const std::string& dir, bool& created);

// Reads a PEM pair from two files. Throws std::runtime_error naming the file.
key_cert load_pair(const std::string& cert_file, const std::string& key_file);

// "sha256:<64 lowercase hex>" of the DER encoding of the first certificate in
// `cert_pem`; empty when it does not parse.
std::string fingerprint(std::string_view cert_pem);

// Reads a whole file, which must be a regular file of at most 1 MiB (a FIFO
// would block, a device never end); throws std::runtime_error naming the file.
std::string read_file(const std::string& path);

// What answers on a server's port, to explain a connection that failed: a TLS
// server answers a ClientHello with a TLS record, a gRPC server without TLS
// answers the HTTP/2 preface with its SETTINGS. Blocks for up to about
// 2 x `timeout` (connecting, then each question); for a thread of its own.
enum class server_protocol { tls, plain_http2, unknown };
server_protocol probe_server(const std::string& host, std::uint16_t port,
                             std::chrono::milliseconds timeout);

}  // namespace burrow::tls
