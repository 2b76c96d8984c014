#include "server/grpc/streams.hpp"

#include "burrow.pb.h"
#include "server/client_session.hpp"
#include "server/grpc/stream_reactor.hpp"

namespace burrow {

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* make_work_reactor(
    grpc::CallbackServerContext* ctx, server_state& st, client_gate& gate, std::uint64_t ticket) {
    return new server_stream_reactor(
        ctx, st, gate, ticket,
        [&st, &gate](std::shared_ptr<stream::pump> p, std::string serialized,
                     const std::string& peer) {
            v1::Frame head;
            if (!head.ParseFromString(serialized) || !head.has_hello())
                return p->close("protocol error: expected hello");
            auto session = st.find_run(head.hello().run_id());
            if (!session) return p->close("unknown run id");
            // A live run id is as good as a login (a client's streams may
            // reach the server on a connection of their own).
            gate.logged_in(peer);
            session->offer_work(std::move(p));
        });
}

}  // namespace burrow
