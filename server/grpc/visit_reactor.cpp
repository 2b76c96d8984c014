#include "server/grpc/streams.hpp"

#include <fmt/format.h>

#include "burrow.pb.h"
#include "common/auth.hpp"
#include "common/host_names.hpp"
#include "common/log.hpp"
#include "common/stream/frame_codec.hpp"
#include "common/net_util.hpp"
#include "common/stream/splice.hpp"
#include "server/client_session.hpp"
#include "server/grpc/stream_reactor.hpp"

namespace burrow {

namespace {

spdlog::logger& visit_log() {
    static spdlog::logger& l = log::get("visit");
    return l;
}

// Asks the serving client for a Work stream and splices the Visit stream
// onto it; the visitor gets `visited` (or an error frame) first. With
// resumption on, each end gets a secret of its own to re-attach with
// (work_reactor.cpp), and the splice waits for an end whose stream broke.
//
// A visit that continues a direct session (`resume_direct`, a serialized
// DirectResume) asks the home client to re-attach it instead of dialling:
// the home's first frame on the Work stream is a Resumed, whose point goes
// to the visitor in its `visited`; then the two are spliced as any visit.
void start_visit(server_state& st, std::shared_ptr<stream::pump> visit,
                 const std::shared_ptr<client_session>& visitor, client_session& owner,
                 const std::string& proxy, const std::string& served_by, std::string peer,
                 std::string resume_direct) {
    const auto keep = std::chrono::seconds(st.config.resume_timeout);
    const bool resuming = !resume_direct.empty();
    // Both ends get this secret: with it the visitor may later move the
    // session onto a direct path (DirectHello), which the server never sees.
    const auto move_secret = auth::random_bytes(stream::pump::secret_size);
    client_session::visit_end service_end{st.next_conn_id++, {}, std::move(resume_direct), move_secret};
    std::array<stream::splice::key, 2> keys{};
    if (keep.count() > 0) {
        keys[stream::splice::visitor] = {auth::random_bytes(stream::pump::secret_size),
                                         visitor.get()};
        keys[stream::splice::service] = {auth::random_bytes(stream::pump::secret_size), &owner};
        service_end.secret = keys[stream::splice::service].secret;
    }
    // Each end has an id of its own (one client may be both ends).
    const auto id = service_end.id, visitor_id = st.next_conn_id++;
    // The visit's line in the dashboard, until the splice ends.
    auto listing = std::make_shared<std::shared_ptr<live::session>>(
        st.live.open(id, proxy, owner.client_id(), owner.number(), peer));
    owner.connect(
        proxy, std::move(peer),
        [&st, visit, served_by, keys, keep, id, visitor_id, listing, resuming, move_secret](
            std::shared_ptr<stream::pump> work, const std::string& tag) {
            if (!work) {
                visit->fail("the proxy's client has no stream for it now");
                return true;
            }
            if (work->ended()) return false;  // try the next stream
            auto splice = std::make_shared<stream::splice>(
                tag, [&st, tag, id, visitor_id, listing](bool ok, const std::string& why,
                                                         const stream::splice::totals& t,
                                                         double secs) {
                    if (t.moved) st.live.moved_to_direct(id, t.to_service, t.to_visitor);
                    listing->reset();
                    st.remove_splice(id);
                    st.remove_splice(visitor_id);
                    const auto how = t.moved ? "moved to a direct path"
                                     : ok  ? "closed"
                                           : "aborted (" + why + ")";
                    visit_log().info("{} visit {}: {} B to the service, {} B to the visitor, "
                                     "{:.2f} s, {} resumptions",
                                     tag, how, t.to_service, t.to_visitor, secs, t.resumptions);
                });
            if (auto& l = *listing) {
                splice->set_meter(l->meter());
                l->set_closer([w = std::weak_ptr(splice)](const std::string& why) {
                    if (auto s = w.lock()) s->close(why);
                });
            }
            v1::Frame head;
            auto* visited = head.mutable_visited();
            visited->set_tag(tag);
            visited->set_client(served_by);
            visited->set_session_id(visitor_id);
            visited->set_home_session_id(id);
            visited->set_move_secret(move_secret);
            if (keep.count() > 0) {
                splice->set_resumable(keys, keep, st.io.get_executor());
                st.add_splice(id, splice);
                st.add_splice(visitor_id, splice);
                visited->set_session_secret(keys[stream::splice::visitor].secret);
            }
            auto join = [visit, work, splice](std::string serialized_visited) {
                visit->send_head(std::move(serialized_visited));
                visit->hand_over(
                    [splice](stream::carrier* c) { splice->attach(stream::splice::visitor, c); });
                work->hand_over(
                    [splice](stream::carrier* c) { splice->attach(stream::splice::service, c); });
            };
            if (!resuming) {
                join(head.SerializeAsString());
                return true;
            }
            work->read_head(
                [head, join, visit, work, splice](std::string serialized) mutable {
                    const auto resumed = frame_codec::decode_resume_head(serialized);
                    if (!resumed || resumed->which != frame_codec::f_resumed) {
                        splice->close("the home client did not answer the re-attach");
                        work->close("protocol error: expected resumed");
                        return visit->fail("protocol error: the home client did not re-attach");
                    }
                    auto* v = head.mutable_visited();
                    v->set_resumed(true);
                    v->set_resumed_received(resumed->point.received);
                    v->set_resumed_fin(resumed->point.fin);
                    join(head.SerializeAsString());
                },
                [visit, splice](std::string why) {
                    splice->close("re-attach refused");
                    visit->fail(why);
                });
            return true;
        },
        false, &service_end);
}

void on_visit_head(server_state& st, client_gate& gate, std::shared_ptr<stream::pump> p,
                   const std::string& serialized, const std::string& grpc_peer) {
    v1::Frame head;
    if (!head.ParseFromString(serialized) || !head.has_visit())
        return p->close("protocol error: expected visit");
    const auto& hello = head.visit();
    const auto source = client_gate::parse_grpc_peer(grpc_peer);
    const std::string from = source ? to_string(*source) : std::string("?");
    auto visitor = st.find_run(hello.run_id());
    if (!visitor) {
        visit_log().warn("visit from {} refused: unknown run id (not logged in)", from);
        return p->fail("visit refused: not logged in to the server");
    }
    gate.logged_in(grpc_peer);  // a live run id is as good as a login
    const auto& visitor_id = visitor->client_id();
    const secret_table::visit v{visitor_id,        hello.server_name(), hello.server_client(),
                                hello.timestamp(), hello.nonce(),       hello.proof()};
    auto verdict = st.secrets.check(v, source ? source->address() : boost::asio::ip::address(),
                                    secret_table::clock::now(), auth::unix_now());
    const auto name = printable(hello.server_name().substr(0, 64));
    if (!verdict.owner) {
        visit_log().warn("visit to '{}' from client {} at {} refused: {}", name, visitor_id, from,
                         verdict.refusal);
        return p->fail("visit refused: " + verdict.refusal);
    }
    start_visit(st, std::move(p), visitor, *verdict.owner, hello.server_name(), verdict.client_id,
                fmt::format("{}@{}", visitor_id, from),
                hello.has_resume_direct() ? hello.resume_direct().SerializeAsString() : std::string());
}

}  // namespace

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* make_visit_reactor(
    grpc::CallbackServerContext* ctx, server_state& st, client_gate& gate, std::uint64_t ticket) {
    return new server_stream_reactor(
        ctx, st, gate, ticket,
        [&st, &gate](std::shared_ptr<stream::pump> p, std::string serialized,
                     const std::string& peer) {
            on_visit_head(st, gate, std::move(p), serialized, peer);
        });
}

}  // namespace burrow
