// Certificates for the client-server channel: a self-signed pair generated
// once into the server's data dir, and SHA-256 fingerprints the client pins.
#pragma once

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

// Reads a whole file; throws std::runtime_error naming the file.
std::string read_file(const std::string& path);

}  // namespace burrow::tls
