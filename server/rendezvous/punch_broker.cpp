#include "server/rendezvous/punch_broker.hpp"

#include <fmt/format.h>

#include "burrow.pb.h"
#include "common/auth.hpp"
#include "common/host_names.hpp"
#include "common/log.hpp"
#include "common/p2p/candidates.hpp"
#include "server/client_session.hpp"
#include "server/server_state.hpp"

namespace burrow {

namespace {

spdlog::logger& p2p_log() { return log::get("p2p"); }

// A peer's candidates as they go on: parsed, bounded, re-formatted (nothing
// else of what a client wrote reaches the other client).
template <class Repeated, class Out>
void pass_candidates(const Repeated& in, Out* out) {
    const std::vector<std::string> texts(in.begin(), in.begin() + std::min(in.size(), 64));
    for (const auto& ep : p2p::accept(texts, true)) out->add_candidates(p2p::format(ep));
}

// A symmetric NAT's side makes the other probe 2048 ports of its first
// candidate's address (birthday probing): passed on only when that address
// is where the server sees the client (its Control stream), so that no
// client can aim those probes at a third party.
template <class Out>
bool may_spray(bool varies, const Out& passed, const boost::asio::ip::address& source,
               std::uint64_t punch_id, const std::string& tag) {
    if (!varies) return false;
    const auto plain = [](const boost::asio::ip::address& a) -> boost::asio::ip::address {
        if (a.is_v6() && a.to_v6().is_v4_mapped())  // a dual-stack listener's view of IPv4
            return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
        return a;
    };
    const auto first = passed.candidates_size() > 0 ? p2p::parse(passed.candidates(0)) : std::nullopt;
    if (first && plain(first->address()) == plain(source)) return true;
    p2p_log().warn("punch {}: {}: says its NAT is symmetric, but its first candidate is not its "
                   "address {}: no birthday probing toward it", punch_id, tag, source.to_string());
    return false;
}

}  // namespace

void punch_broker::expire(clock::time_point now) {
    for (auto it = pending_.begin(); it != pending_.end();)
        it = now - it->second.at > answer_timeout ? pending_.erase(it) : std::next(it);
}

void punch_broker::request(const std::shared_ptr<client_session>& visitor, const v1::PunchRequest& r,
                           const boost::asio::ip::address& source) {
    v1::ServerMessage reply;
    auto* start = reply.mutable_punch_start();
    start->set_request_id(r.request_id());
    const auto name = printable(r.server_name().substr(0, 64));
    const auto refuse = [&](const std::string& why) {
        {
            absl::MutexLock lock(&mutex_);
            ++refused_;
        }
        p2p_log().warn("direct path to '{}' for client {} refused: {}", name, visitor->client_id(), why);
        start->set_error(why);
        visitor->post_message(std::move(reply));
    };
    const secret_table::visit v{visitor->client_id(), r.server_name(), r.server_client(),
                                r.timestamp(), r.nonce(), r.proof()};
    auto verdict = st_.secrets.check(v, source, secret_table::clock::now(), auth::unix_now());
    if (!verdict.owner) return refuse(verdict.refusal);
    if (r.nonce().size() != auth::nonce_size) return refuse("malformed nonce");

    v1::ServerMessage offer_msg;
    auto* offer = offer_msg.mutable_punch_offer();
    const auto now = clock::now();
    const auto tag = fmt::format("{} -> {} ({})", visitor->client_id(), name, verdict.client_id);
    {
        absl::MutexLock lock(&mutex_);
        expire(now);
        std::size_t mine = 0;
        for (const auto& [id, p] : pending_)
            if (p.visitor.lock() == visitor) ++mine;
        if (mine >= max_pending_per_visitor || pending_.size() >= max_pending) {
            ++refused_;
            start->set_error("too many direct path attempts at once; try later");
            visitor->post_message(std::move(reply));
            return;
        }
        const auto id = next_id_++;
        pending_[id] = {visitor, verdict.owner.get(), r.request_id(), tag, now};
        offer->set_punch_id(id);
    }
    offer->set_proxy(r.server_name());
    offer->set_visitor(visitor->client_id());
    offer->set_nonce(r.nonce());
    pass_candidates(r.candidates(), offer);
    offer->set_mapping_varies(may_spray(r.mapping_varies(), *offer, source, offer->punch_id(), tag));
    p2p_log().info("punch {}: {}: visitor candidates passed on ({}{})", offer->punch_id(), tag,
                   offer->candidates_size(), offer->mapping_varies() ? ", symmetric NAT" : "");
    verdict.owner->post_message(std::move(offer_msg));
}

void punch_broker::answer(const std::shared_ptr<client_session>& home, const v1::PunchAnswer& a,
                          const boost::asio::ip::address& source) {
    pending p;
    {
        absl::MutexLock lock(&mutex_);
        expire(clock::now());
        auto it = pending_.find(a.punch_id());
        // Only the client the offer went to may answer it.
        if (it == pending_.end() || it->second.home != home.get()) return;
        p = std::move(it->second);
        pending_.erase(it);
        if (a.error().empty()) ++passed_; else ++refused_;
    }
    auto visitor = p.visitor.lock();
    if (!visitor) return;
    v1::ServerMessage msg;
    auto* start = msg.mutable_punch_start();
    start->set_request_id(p.request_id);
    start->set_punch_id(a.punch_id());
    if (!a.error().empty()) {
        start->set_error(printable(a.error().substr(0, 200)));
        p2p_log().info("punch {}: {}: refused by the home client: {}", a.punch_id(), p.tag,
                       start->error());
    } else {
        pass_candidates(a.candidates(), start);
        if (a.cert_sha256().size() == 32) start->set_cert_sha256(a.cert_sha256());
        start->set_mapping_varies(may_spray(a.mapping_varies(), *start, source, a.punch_id(), p.tag));
        p2p_log().info("punch {}: {}: home candidates passed on ({}{}); both sides probe now",
                       a.punch_id(), p.tag, start->candidates_size(),
                       start->mapping_varies() ? ", symmetric NAT" : "");
    }
    visitor->post_message(std::move(msg));
}

std::uint64_t punch_broker::passed() const {
    absl::MutexLock lock(&mutex_);
    return passed_;
}

std::uint64_t punch_broker::refused() const {
    absl::MutexLock lock(&mutex_);
    return refused_;
}

}  // namespace burrow
