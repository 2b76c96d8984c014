#include "client/admin.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <optional>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <openssl/evp.h>

#include "common/cli.hpp"
#include "common/config/client.hpp"
#include "common/log.hpp"

namespace burrow {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;
using generic = asio::generic::stream_protocol;
using boost::system::error_code;

namespace {
constexpr std::size_t max_request = 64;
constexpr auto request_timeout = std::chrono::seconds(2);

// One admin connection: a line in, the answer out, closed.
class admin_connection : public std::enable_shared_from_this<admin_connection> {
public:
    admin_connection(generic::socket s, std::shared_ptr<const admin_server::answer> a)
        : socket_(std::move(s)),
          timer_(socket_.get_executor()),
          answer_(std::move(a)),
          in_(max_request) {}

    void start() {
        timer_.expires_after(request_timeout);
        timer_.async_wait([self = shared_from_this()](const error_code& ec) {
            if (!ec) self->socket_.close();
        });
        asio::async_read_until(socket_, in_, '\n',
                               [self = shared_from_this()](const error_code& ec, std::size_t n) {
                                   self->on_request(ec, n);
                               });
    }

private:
    void on_request(const error_code& ec, std::size_t n) {
        timer_.cancel();
        if (ec) return;  // too long, timed out, or gone
        std::string line(asio::buffers_begin(in_.data()), asio::buffers_begin(in_.data()) + n - 1);
        reply_ = (*answer_)(line);
        asio::async_write(socket_, asio::buffer(reply_),
                          [self = shared_from_this()](const error_code&, std::size_t) {
                              error_code ignored;
                              self->socket_.shutdown(generic::socket::shutdown_both, ignored);
                          });
    }

    generic::socket socket_;
    asio::steady_timer timer_;
    std::shared_ptr<const admin_server::answer> answer_;
    asio::streambuf in_;
    std::string reply_;
};

std::string hex16_of_sha256(const std::string& text) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    EVP_Digest(text.data(), text.size(), md.data(), &len, EVP_sha256(), nullptr);
    std::string out;
    for (unsigned i = 0; i < 8 && i < len; ++i) out += fmt::format("{:02x}", md[i]);
    return out;
}

}  // namespace

std::string admin_socket_path(const std::string& config_file) {
    std::error_code ec;
    auto abs = std::filesystem::absolute(config_file, ec);
    const auto canonical = std::filesystem::weakly_canonical(abs, ec);
    const std::string key = ec ? abs.string() : canonical.string();
    const char* runtime = std::getenv("XDG_RUNTIME_DIR");
    std::string dir = runtime && *runtime && std::filesystem::is_directory(runtime, ec)
                          ? std::string(runtime)
                          : std::string("/tmp");
    return fmt::format("{}/burrow-client-{}.sock", dir, hex16_of_sha256(key));
}

std::string admin_address::describe() const {
    return path.empty() ? fmt::format("{}:{}", host, port) : path;
}

admin_address admin_address_of(const client_config& config) {
    if (config.admin.port != 0) return {{}, config.admin.addr, config.admin.port};
    return {admin_socket_path(config.file), {}, 0};
}

namespace {
generic::endpoint endpoint_of(const admin_address& at) {
    if (!at.path.empty()) return local::endpoint(at.path);
    return asio::ip::tcp::endpoint(asio::ip::make_address(at.host), at.port);
}
}  // namespace

struct admin_server::impl {
    impl(asio::any_io_executor ex, admin_address a, answer r)
        : acceptor(asio::make_strand(ex)),
          at(std::move(a)),
          reply(std::make_shared<const answer>(std::move(r))) {}
    asio::basic_socket_acceptor<generic> acceptor;
    admin_address at;
    std::shared_ptr<const answer> reply;
    bool bound = false;  // our Unix socket file exists

    static void accept(std::shared_ptr<impl> self) {
        self->acceptor.async_accept([self](const error_code& ec, generic::socket s) {
            if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
            if (!ec) std::make_shared<admin_connection>(std::move(s), self->reply)->start();
            accept(self);
        });
    }
};

admin_server::admin_server(asio::any_io_executor ex, admin_address at, answer a)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(at), std::move(a))) {}

admin_server::~admin_server() {
    if (impl_->bound) ::unlink(impl_->at.path.c_str());
}

void admin_server::start() {
    auto& im = *impl_;
    const bool unix_socket = !im.at.path.empty();
    const auto where = unix_socket ? "admin socket " + im.at.path : "admin port " + im.at.describe();
    error_code ec;
    const auto ep = endpoint_of(im.at);
    if (unix_socket) {
        // A socket left by a client that died is taken over; one that answers
        // belongs to a client that runs with this config.
        local::socket probe(im.acceptor.get_executor());
        probe.connect(local::endpoint(im.at.path), ec);
        if (!ec)
            throw std::runtime_error(
                fmt::format("another burrow-client runs with this config ({})", where));
        ::unlink(im.at.path.c_str());
        ec.clear();
    }
    const mode_t old = ::umask(077);  // the socket is its owner's alone
    im.acceptor.open(ep.protocol(), ec);
    if (!ec && !unix_socket) im.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) im.acceptor.bind(ep, ec);
    ::umask(old);
    if (!ec) im.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error(fmt::format("cannot listen on the {}: {}", where, ec.message()));
    im.bound = unix_socket;
    log::get("client").log(unix_socket ? spdlog::level::debug : spdlog::level::info,
                           "admin API on {}", im.at.describe());
    impl::accept(impl_);
}

void admin_server::stop() {
    asio::post(impl_->acceptor.get_executor(), [im = impl_] {
        error_code ignored;
        im->acceptor.close(ignored);
    });
}

namespace {

// Sends `request` to the client running with `config` and reads its answer;
// nullopt (after saying why on stderr) when none is running or it does not answer.
std::optional<std::string> ask_running_client(const client_config& config, const std::string& request) {
    const auto at = admin_address_of(config);
    asio::io_context io;
    generic::socket s(io);
    error_code ec;
    s.connect(endpoint_of(at), ec);
    if (ec) {
        std::fprintf(stderr, "burrow-client: no burrow-client is running with %s (admin %s %s: %s)\n",
                     config.file.c_str(), at.path.empty() ? "port" : "socket",
                     at.describe().c_str(), ec.message().c_str());
        return std::nullopt;
    }
    asio::write(s, asio::buffer(request + "\n"), ec);
    std::string reply;
    std::array<char, 4096> buf;
    while (!ec) {
        const auto n = s.read_some(asio::buffer(buf), ec);
        reply.append(buf.data(), n);
    }
    if (ec != asio::error::eof || reply.empty()) {
        std::fprintf(stderr, "burrow-client: the running client did not answer (%s)\n",
                     ec.message().c_str());
        return std::nullopt;
    }
    return reply;
}

}  // namespace

int run_status(std::shared_ptr<const client_config> config, const cli_args& args) {
    const auto reply = ask_running_client(*config, args.json ? "status json" : "status text");
    if (!reply) return 1;
    std::fwrite(reply->data(), 1, reply->size(), stdout);
    return 0;
}

int run_reload(std::shared_ptr<const client_config> config, const cli_args&) {
    // The file loaded here without errors (or this command would have said
    // so, as `verify` does); the running client reads it again itself.
    const auto reply = ask_running_client(*config, "reload");
    if (!reply) return 1;
    std::fwrite(reply->data(), 1, reply->size(), stdout);
    return reply->rfind("reloaded ", 0) == 0 ? 0 : 1;
}

}  // namespace burrow
