// The TLS ClientHello's server name (server/vhost/client_hello.hpp), which
// routes an https proxy's connections. https_connection.cpp calls
// parse_client_hello_sni() on what it has buffered each time more arrives.
//
// Input: one byte of settings (where the network cuts the bytes; how the
// handshake is re-framed into records), then the bytes a user sends.
//
// Properties:
// - as bytes arrive, the answer is need_more until it is final; a final
//   answer (found, none, malformed) and the name never change with more bytes;
// - a name found is non-empty (and, the records' payloads joined, found again
//   when the hello is re-framed);
// - a ClientHello whose name was found, cut into other records (TLS lets a
//   handshake message span records), gives the same name.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "server/vhost/client_hello.hpp"
#include "server/vhost/router.hpp"

namespace burrow::vhost {
namespace {

// The handshake bytes of `data` as records of at most `fragment` bytes; ""
// when `data` is not a run of whole, non-empty handshake records with one
// record header.
std::string reframe(std::string_view data, std::size_t fragment) {
    std::string handshake, head;
    while (!data.empty()) {
        if (data.size() < 5) return {};
        const std::size_t n = static_cast<std::uint8_t>(data[3]) << 8 | static_cast<std::uint8_t>(data[4]);
        if (n == 0 || data.size() < 5 + n || data[0] != 22) return {};
        if (!head.empty() && head != data.substr(0, 3)) return {};
        head = data.substr(0, 3);
        handshake.append(data.substr(5, n));
        data.remove_prefix(5 + n);
    }
    std::string out;
    for (std::size_t at = 0; at < handshake.size(); at += fragment) {
        const auto piece = std::string_view(handshake).substr(at, fragment);
        out += head;
        out += static_cast<char>(piece.size() >> 8);
        out += static_cast<char>(piece.size() & 0xff);
        out += piece;
    }
    return out;
}

}  // namespace
}  // namespace burrow::vhost

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace burrow::vhost;
    static const router https = [] {
        router r("example.com");
        FUZZ_CHECK(r.add({"app", {"app.example.com"}, "", {}}).empty());
        FUZZ_CHECK(r.add({"any", {"*.example.com"}, "", {}}).empty());
        return r;
    }();
    if (size < 1) return 0;
    const std::uint8_t settings = data[0];
    const std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);

    std::string name;
    const auto result = parse_client_hello_sni(bytes, name);
    if (result == sni_result::found) {
        FUZZ_CHECK(!name.empty() && name.size() <= max_client_hello);
        https.route(name, "/");  // as find_https() does
    } else {
        FUZZ_CHECK(name.empty());
    }

    // The bytes as they arrive, in steps of 1..16 bytes (then larger), each
    // time parsed from the start as https_connection does. Stop at the first
    // final answer: it must be the one the whole input gives.
    const std::size_t step = 1 + (settings & 0x0f);
    std::size_t have = 0;
    while (have < bytes.size()) {
        have = std::min(bytes.size(), have + step + have / 8);
        std::string part_name;
        const auto part = parse_client_hello_sni(std::string_view(bytes).substr(0, have), part_name);
        if (part == sni_result::need_more) {
            FUZZ_CHECK(part_name.empty());
            continue;
        }
        FUZZ_CHECK(part == result);
        FUZZ_CHECK(part_name == name);
        break;
    }
    if (have == bytes.size() && result == sni_result::need_more) FUZZ_CHECK(name.empty());

    // Re-framed into records of another size: the same name.
    if (result == sni_result::found) {
        const std::size_t fragment = 1 + (settings >> 4) * 37;
        const auto records = reframe(bytes, fragment);
        if (!records.empty() && records.size() / (fragment + 5) < 512) {
            std::string again;
            const auto r = parse_client_hello_sni(records, again);
            FUZZ_CHECK(r == sni_result::found);
            FUZZ_CHECK(again == name);
        }
    }
    return 0;
}
