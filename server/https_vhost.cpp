// https proxies: the first bytes of a user's TLS connection are read until the
// ClientHello is complete, its server name picks the proxy, and from then on
// the connection is carried like a tcp proxy's, ClientHello first. TLS is
// never terminated here: the home service keeps its own certificate.
#include <memory>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <fmt/format.h>

#include "common/log.hpp"
#include "common/net_util.hpp"
#include "server/client_session.hpp"
#include "server/server_state.hpp"
#include "server/vhost_internal.hpp"

namespace burrow {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::uint8_t record_handshake = 22;
constexpr std::uint8_t handshake_client_hello = 1;
constexpr std::uint16_t extension_server_name = 0;
constexpr std::uint8_t name_type_host = 0;
constexpr std::size_t record_header = 5;
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

namespace {

spdlog::logger& vhost_log() {
    static spdlog::logger& l = log::get("vhost");
    return l;
}

class https_connection : public std::enable_shared_from_this<https_connection> {
public:
    https_connection(server_state& st, tcp::socket socket)
        : st_(st), socket_(std::move(socket)), timer_(socket_.get_executor()) {
        error_code ec;
        const auto remote = socket_.remote_endpoint(ec);
        peer_ = ec ? std::string("?") : to_string(remote);
    }

    void start() {
        timer_.expires_after(std::chrono::seconds(st_.config.vhost_header_timeout));
        timer_.async_wait([self = shared_from_this()](const error_code& ec) {
            if (ec) return;
            error_code ignored;
            self->socket_.close(ignored);  // slow or silent: the read below fails
        });
        read_more();
    }

private:
    void read_more() {
        const auto have = hello_.size();
        hello_.resize(max_client_hello + 2 * record_header);
        socket_.async_read_some(
            asio::buffer(hello_.data() + have, hello_.size() - have),
            [self = shared_from_this(), have](const error_code& ec, std::size_t n) {
                self->hello_.resize(have + n);
                if (ec) return self->give_up(ec.message());
                self->on_data();
            });
    }

    void on_data() {
        std::string name;
        switch (parse_client_hello_sni(hello_, name)) {
            case sni_result::need_more:
                if (hello_.size() >= max_client_hello + 2 * record_header)
                    return give_up("ClientHello too large");
                return read_more();
            case sni_result::none: return give_up("no server name in the ClientHello");
            case sni_result::malformed: return give_up("not a TLS ClientHello");
            case sni_result::found: break;
        }
        timer_.cancel();
        auto target = st_.vhosts.find_https(name);
        if (!target) return give_up(fmt::format("no proxy for server name '{}'", printable(name)));
        auto owner = target->owner.lock();
        if (!owner) return give_up(fmt::format("[{}] the client is offline", target->proxy));
        owner->dispatch(target->proxy, std::move(socket_), peer_, std::move(hello_));
    }

    void give_up(const std::string& why) {
        vhost_log().debug("https connection from {} closed: {}", peer_, why);
        timer_.cancel();
        error_code ignored;
        socket_.close(ignored);
    }

    server_state& st_;
    tcp::socket socket_;
    asio::steady_timer timer_;
    std::string hello_;
    std::string peer_;
};

}  // namespace

void serve_https(server_state& st, tcp::socket socket) {
    std::make_shared<https_connection>(st, std::move(socket))->start();
}

}  // namespace burrow
