#include "server/grpc/streams.hpp"

#include <fmt/format.h>

#include "burrow.pb.h"
#include "common/log.hpp"
#include "common/net_util.hpp"
#include "common/stream/frame_codec.hpp"
#include "common/stream/pump.hpp"
#include "common/stream/splice.hpp"
#include "server/client_session.hpp"
#include "server/grpc/stream_reactor.hpp"

namespace burrow {

namespace {

spdlog::logger& work_log() {
    static spdlog::logger& l = log::get("work");
    return l;
}

// A Work stream whose first frame re-attaches a session after a break: the
// run must be live, the session this run's, the secret the one its start
// gave. Then the stream's carrier goes to the session's pump, which answers
// `resumed` with what it holds and replays what the client lacks; or, for
// either end of a visit, to the visit's splice, which gets the answer from
// the other end.
void resume_session(server_state& st, std::shared_ptr<stream::pump> p, const v1::Resume& r,
                    const std::string& from) {
    auto run = st.find_run(r.run_id());
    if (!run) return p->fail("resume refused: not logged in to the server");
    const stream::resume_point point{r.received(), r.received_fin()};
    const auto id = r.session_id();
    auto refused = [&](const std::string& why) {
        work_log().warn("re-attach of session {} from client {} at {} refused: {}", id,
                        run->client_id(), from, why);
        p->fail("resume refused: no such session");
    };
    if (auto session = st.sessions.find(id)) {
        if (!session->resume_owned_by(run.get()) || !session->resume_secret_is(r.session_secret()))
            return refused("no such session");
        return p->hand_over([&st, session, point, id](stream::carrier* c) {
            if (!c) return;
            auto answer = [](stream::resume_point mine) {
                return frame_codec::encode_resume_head(frame_codec::f_resumed, mine);
            };
            if (auto err = session->reattach(c, point, answer); !err.empty()) {
                work_log().warn("re-attach of session {} refused: {}", id, err);
                c->finish(false);
            } else {
                st.live.resumed();
            }
        });
    }
    auto splice = st.find_splice(id);
    const auto side = splice ? splice->side_for(run.get(), r.session_secret()) : std::nullopt;
    if (!side) return refused("no such session");
    p->hand_over([&st, splice, side = *side, point, id](stream::carrier* c) {
        if (!c) return;
        if (auto err = splice->reattach(side, c, point); !err.empty()) {
            work_log().warn("re-attach of visit {} refused: {}", id, err);
            c->finish(false);
        } else {
            st.live.resumed();
        }
    });
}

}  // namespace

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* make_work_reactor(
    grpc::CallbackServerContext* ctx, server_state& st, client_gate& gate, std::uint64_t ticket) {
    return new server_stream_reactor(
        ctx, st, gate, ticket,
        [&st, &gate](std::shared_ptr<stream::pump> p, std::string serialized,
                     const std::string& peer) {
            v1::Frame head;
            if (!head.ParseFromString(serialized) || (!head.has_hello() && !head.has_resume()))
                return p->close("protocol error: expected hello");
            const auto& run_id = head.has_hello() ? head.hello().run_id() : head.resume().run_id();
            auto session = st.find_run(run_id);
            if (!session) return p->close("unknown run id");
            // A live run id is as good as a login (a client's streams may
            // reach the server on a connection of their own).
            gate.logged_in(peer);
            if (head.has_resume()) {
                const auto source = client_gate::parse_grpc_peer(peer);
                return resume_session(st, std::move(p), head.resume(),
                                      source ? to_string(*source) : std::string("?"));
            }
            session->offer_work(std::move(p), head.hello().origin() != v1::WORK_ORIGIN_POOL);
        });
}

}  // namespace burrow
