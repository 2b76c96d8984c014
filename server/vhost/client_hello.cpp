#include "server/vhost/client_hello.hpp"

#include <cstdint>

namespace burrow::vhost {

namespace {

constexpr std::uint8_t record_handshake = 22;
constexpr std::uint8_t handshake_client_hello = 1;
constexpr std::uint16_t extension_server_name = 0;
constexpr std::uint8_t name_type_host = 0;
constexpr std::size_t max_record = 16384 + 2048;  // TLSCiphertext bound

// A bounds-checked reader over a byte string; every read past the end fails.
class reader {
public:
    explicit reader(std::string_view d = {}) : data_(d) {}
    bool u8(std::size_t& v) { return number(1, v); }
    bool u16(std::size_t& v) { return number(2, v); }
    bool u24(std::size_t& v) { return number(3, v); }
    bool bytes(std::size_t n, std::string_view& out) {
        if (data_.size() < n) return false;
        out = data_.substr(0, n);
        data_.remove_prefix(n);
        return true;
    }
    bool skip(std::size_t n) {
        std::string_view ignored;
        return bytes(n, ignored);
    }
    // A vector with a length prefix of `width` bytes, as a reader of its own.
    bool vector(std::size_t width, reader& out) {
        std::size_t n = 0;
        std::string_view body;
        if (!number(width, n) || !bytes(n, body)) return false;
        out = reader(body);
        return true;
    }
    bool empty() const { return data_.empty(); }
    std::string_view rest() const { return data_; }

private:
    bool number(std::size_t width, std::size_t& v) {
        if (data_.size() < width) return false;
        v = 0;
        for (std::size_t i = 0; i < width; ++i) v = v << 8 | static_cast<std::uint8_t>(data_[i]);
        data_.remove_prefix(width);
        return true;
    }
    std::string_view data_;
};

sni_result parse_hello_body(std::string_view body, std::string& name) {
    reader r(body);
    reader session, suites, compression, extensions;
    if (!r.skip(2 + 32) || !r.vector(1, session) || !r.vector(2, suites) ||
        !r.vector(1, compression))
        return sni_result::malformed;
    if (r.empty()) return sni_result::none;  // no extensions at all
    if (!r.vector(2, extensions)) return sni_result::malformed;
    while (!extensions.empty()) {
        std::size_t type = 0;
        reader ext;
        if (!extensions.u16(type) || !extensions.vector(2, ext)) return sni_result::malformed;
        if (type != extension_server_name) continue;
        reader list;
        if (!ext.vector(2, list)) return sni_result::malformed;
        while (!list.empty()) {
            std::size_t name_type = 0;
            reader host;
            if (!list.u8(name_type) || !list.vector(2, host)) return sni_result::malformed;
            if (name_type != name_type_host) continue;
            if (host.rest().empty()) return sni_result::malformed;
            name.assign(host.rest());
            return sni_result::found;
        }
        return sni_result::none;
    }
    return sni_result::none;
}

}  // namespace

sni_result parse_client_hello_sni(std::string_view data, std::string& name) {
    // The ClientHello may span several handshake records; gather their payloads.
    std::string handshake;
    reader records(data);
    for (;;) {
        std::size_t type = 0, version = 0, length = 0;
        reader probe = records;
        if (!probe.u8(type) || !probe.u16(version) || !probe.u16(length))
            return sni_result::need_more;
        if (type != record_handshake || (version >> 8) != 3 || length == 0 || length > max_record)
            return sni_result::malformed;
        std::string_view fragment;
        if (!probe.bytes(length, fragment)) return sni_result::need_more;
        records = probe;
        handshake.append(fragment);

        reader hs(handshake);
        std::size_t msg_type = 0, msg_length = 0;
        if (!hs.u8(msg_type) || !hs.u24(msg_length)) continue;
        if (msg_type != handshake_client_hello || msg_length > max_client_hello)
            return sni_result::malformed;
        std::string_view body;
        if (!hs.bytes(msg_length, body)) continue;
        return parse_hello_body(body, name);
    }
}

}  // namespace burrow::vhost
