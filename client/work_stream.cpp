#include "client/work_stream.hpp"

#include <atomic>

#include <fmt/format.h>

#include "burrow.pb.h"
#include "client/config_source.hpp"
#include "client/control_session.hpp"
#include "client/direct_session.hpp"
#include "client/local_dialer.hpp"
#include "client/stream_call.hpp"
#include "common/config.hpp"
#include "common/log.hpp"
#include "common/net_util.hpp"
#include "common/stream/registry.hpp"

namespace burrow {

namespace asio = boost::asio;

namespace {

spdlog::logger& work_log() {
    static spdlog::logger& l = log::get("work");
    return l;
}

// The head of a Work stream: the server's start names the proxy and the
// session; its local service is dialled and the session pumped.
void on_start(const std::shared_ptr<stream::pump>& p, const std::string& serialized,
              const client_config& config, stream::registry& sessions,
              const std::shared_ptr<control_session>& session) {
    v1::Frame head;
    if (!head.ParseFromString(serialized) || !head.has_start())
        return p->close("protocol error: expected start");
    if (session) session->on_work_started();

    const auto& start = head.start();
    if (start.has_resume_direct()) {
        // A visitor's direct session whose path died goes on over the relay.
        const auto& r = start.resume_direct();
        std::weak_ptr<control_session> weak = session;
        return continue_over_relay(
            p, sessions, r.session_id(), r.session_secret(), {r.received(), r.received_fin()},
            start.conn_id(),
            [weak, secret = start.session_secret(), move = start.move_secret()](
                const std::shared_ptr<stream::pump>& s, std::uint64_t id) {
                if (auto c = weak.lock(); c && !secret.empty()) c->make_resumable(s, id, secret);
                allow_move(s, id, move);  // back onto the direct path once there is one
            });
    }
    const std::string peer = start.peer().substr(0, 64);
    const auto tag = fmt::format("[{}/{}]", start.proxy().substr(0, 64), start.conn_id());
    const proxy_config* proxy = nullptr;
    for (const auto& c : config.proxies)
        if (c.name == start.proxy()) proxy = &c;
    if (!proxy) {
        work_log().warn("{} unknown proxy", tag);
        return p->fail("unknown proxy");
    }
    if (!start.session_secret().empty() && session)
        session->make_resumable(p, start.conn_id(), start.session_secret());
    if (proxy->type == "secret" && proxy->p2p) allow_move(p, start.conn_id(), start.move_secret());
    // Ids come from the server: one restarted since may repeat an id
    // an old session still holds; that session lives on unlisted.
    p->set_peer(peer);
    if (!sessions.add(start.conn_id(), p)) work_log().debug("{} session id already in use", tag);
    dial_local(p, *proxy, tag, peer, std::chrono::seconds(config.transport.dial_timeout));
}

}  // namespace

void open_work_stream(std::shared_ptr<tracked_stub> stub, asio::any_io_executor ex,
                      std::shared_ptr<const config_source> config, const std::string& run_id,
                      bool asked, stream::registry& sessions,
                      std::weak_ptr<control_session> session) {
    // Until a start arrives the stream is idle; one that ends so is lost.
    auto* call = new stream_call(*stub, work_method, std::move(ex), session);
    auto pump = call->pump();  // `call` may be gone once the hello is on its way
    std::weak_ptr<stream::pump> weak = pump;
    v1::Frame hello;
    hello.mutable_hello()->set_run_id(run_id);
    hello.mutable_hello()->set_origin(asked ? v1::WORK_ORIGIN_ASKED : v1::WORK_ORIGIN_POOL);
    pump->read_head([config = std::move(config), &sessions, weak, session,
                     call](std::string serialized) {
        auto p = weak.lock();
        if (!p) return;
        call->started();  // the head handler runs inside the call's reaction
        // The proxies in force when the user arrived, not when the stream opened.
        on_start(p, serialized, *config->get(), sessions, session.lock());
    });
    pump->send_head(hello.SerializeAsString());
}

}  // namespace burrow
