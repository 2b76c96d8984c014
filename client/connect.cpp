#include "client/connect.hpp"

#include "common/cli.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <cstdio>
#include <future>
#include <thread>

#include <boost/asio/generic/stream_protocol.hpp>

#include "client/client.hpp"
#include "client/visitor.hpp"
#include "common/config/client.hpp"
#include "common/log.hpp"

namespace burrow {

namespace {

// Copies `from` to `to` until EOF or an error on either.
void copy(int from, int to) {
    char buf[64 * 1024];
    for (;;) {
        const ssize_t n = ::read(from, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        for (ssize_t done = 0; done < n;) {
            const ssize_t w = ::write(to, buf + done, static_cast<std::size_t>(n - done));
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) return;
            done += w;
        }
    }
}

}  // namespace

int run_connect(std::shared_ptr<const client_config> config, const cli_args& args) {
    const auto& operands = args.operands;
    const auto& name = operands.at(0);
    const visitor_config* found = nullptr;
    for (const auto& v : config->visitors)
        if (v.name == name) found = &v;
    if (!found) {
        std::fprintf(stderr, "burrow-client: %s has no visitor named '%s'\n", config->file.c_str(),
                     name.c_str());
        return 2;
    }
    const visitor_config visitor = *found;
    std::signal(SIGPIPE, SIG_IGN);  // a closed stdout or socket is an error return
    // This process only visits: no proxies, listeners or Work streams.
    const auto logged_in = client::log_in_once(*config, "visitor", "[" + name + "]");
    if (!logged_in) return 1;
    client& c = *logged_in;
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
        log::get("visitor").error("[{}] socketpair: {}", name, std::strerror(errno));
        c.stop();
        return 1;
    }
    boost::asio::generic::stream_protocol::socket end(
        c.executor(), boost::asio::generic::stream_protocol(AF_UNIX, SOCK_STREAM), fds[0]);
    // Shared with the handler: set_value may still be running on an io
    // thread when this thread, woken by it, returns.
    auto ended = std::make_shared<std::promise<visit_end>>();
    auto how_it_ended = ended->get_future();
    open_visit(c.visits(), c.executor(), visitor, std::move(end), "[" + name + "]",
               "stdin/stdout", [ended](visit_end e) { ended->set_value(e); });
    // stdin to the visit, with a half-close at its end; it may still be
    // blocked reading stdin when the visit is over, so it is left to exit.
    std::thread([fd = fds[1]] {
        copy(STDIN_FILENO, fd);
        ::shutdown(fd, SHUT_WR);
    }).detach();
    copy(fds[1], STDOUT_FILENO);  // until the visit closes its end
    ::close(STDOUT_FILENO);
    const auto how = how_it_ended.get();
    c.stop();
    // The visit's stream may still be winding down on gRPC's threads, with
    // sockets of the client's io_context (a refused visit ends at once): a
    // one-shot process leaves now rather than destroy that io_context under
    // them. Nothing is left to flush but stdio.
    std::fflush(nullptr);
    ::_exit(how == visit_end::closed ? 0 : 1);
}

}  // namespace burrow
