#include "client/direct_session.hpp"

#include <atomic>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "burrow.pb.h"
#include "client/local_dialer.hpp"
#include "client/p2p/quic_link.hpp"
#include "common/auth.hpp"
#include "common/config/client.hpp"
#include "common/log.hpp"
#include "common/stream/pump.hpp"
#include "common/stream/registry.hpp"

namespace burrow {

namespace {

spdlog::logger& p2p_log() { return log::get("p2p"); }

std::atomic<std::uint64_t> next_direct_id{1};

}  // namespace

std::string direct_hello(const visitor_config& v, const quic::link& on) {
    v1::Frame head;
    auto* d = head.mutable_direct();
    d->set_proxy(v.server_name);
    d->set_proof(on.proof());
    return head.SerializeAsString();
}

void serve_direct_stream(const direct_home& home, stream::carrier* c, const std::string& proxy,
                         const std::string& visitor, const quic::link& on) {
    auto session = std::make_shared<stream::pump>(home.ex);
    session->attach(c);
    c->set_events(session);
    const std::string peer = fmt::format("{}", fmt::streamed(on.peer()));
    std::weak_ptr<stream::pump> weak = session;
    session->read_head([weak, home, proxy, visitor, peer, proof = on.proof()](std::string serialized) {
        auto p = weak.lock();
        if (!p) return;
        v1::Frame head;
        if (!head.ParseFromString(serialized) || !head.has_direct())
            return p->close("protocol error: expected a direct hello");
        const auto& d = head.direct();
        if (d.proxy() != proxy || !auth::same_proof(d.proof(), proof)) {
            p2p_log().warn("[{}] direct stream from {} ({}) refused: its proof does not match "
                           "this path",
                           proxy, visitor, peer);
            return p->fail("refused: the proof does not match this direct path");
        }
        const proxy_config* served = nullptr;
        for (const auto& pc : home.config->proxies)
            if (pc.name == proxy && pc.type == "secret" && pc.p2p) served = &pc;
        if (!served) return p->fail(fmt::format("direct paths are off for proxy {}", proxy));
        const auto n = next_direct_id.fetch_add(1, std::memory_order_relaxed);
        const auto id = direct_session_bit | n;
        const auto tag = fmt::format("[{}/p2p-{}]", proxy, n);
        v1::Frame answer;
        auto* v = answer.mutable_visited();
        v->set_tag(tag);
        v->set_client(home.config->client_id);
        v->set_session_id(id);
        p->send_head(answer.SerializeAsString());
        p->set_peer(peer);
        if (home.sessions) home.sessions->add(id, p);
        dial_local(p, *served, tag, fmt::format("visitor {} at {}", visitor, peer),
                   std::chrono::seconds(home.config->transport.dial_timeout));
    });
}

}  // namespace burrow
