#include "client/p2p/path_status.hpp"

#include <fmt/format.h>

#include "client/json_text.hpp"
#include "common/p2p/candidates.hpp"

namespace burrow {

namespace {

double seconds_since(direct_path::clock::time_point t) {
    return std::chrono::duration<double>(direct_path::clock::now() - t).count();
}

std::string address(const std::optional<direct_path::endpoint>& ep) {
    return ep ? p2p::format(*ep) : std::string();
}

}  // namespace

std::string paths_json(const std::vector<punch_manager::entry>& paths) {
    std::string out = "[";
    for (std::size_t i = 0; i < paths.size(); ++i) {
        const auto& e = paths[i];
        const auto& p = e.path;
        out += fmt::format(
            "{}{{\"role\":{},\"name\":{},\"peer\":{},\"state\":{},\"peer_addr\":{},\"mapped\":{},"
            "\"local_port\":{},\"rtt_ms\":{:.2f},\"quiet_s\":{:.1f},\"why\":{},\"for_s\":{:.1f},"
            "\"punch_id\":{},\"quic\":{},\"symmetric_nat\":{},\"birthday_sockets\":{},"
            "\"birthday_ports\":{}}}",
            i ? "," : "", json_string(e.role), json_string(e.name), json_string(e.peer),
            json_string(direct_path::to_string(p.now)), json_string(address(p.peer)),
            json_string(address(p.mapped)), p.local_port, p.rtt_ms,
            p.now == direct_path::state::up ? seconds_since(p.last_answer) : 0.0, json_string(p.why),
            seconds_since(p.since), p.punch_id, p.quic_ready ? "\"up\"" : "\"down\"",
            p.mapping_varies, p.birthday_sockets, p.birthday_ports);
    }
    return out + "]";
}

std::string paths_text(const std::vector<punch_manager::entry>& paths) {
    std::string out = fmt::format("direct paths ({}):\n", paths.size());
    for (const auto& e : paths) {
        const auto& p = e.path;
        std::string state;
        switch (p.now) {
            case direct_path::state::up:
                state = fmt::format("up: udp {} -> {}, rtt {:.1f} ms, QUIC {}", p.local_port,
                                    address(p.peer), p.rtt_ms,
                                    p.quic_ready ? "up: new sessions go direct" : "not up yet");
                break;
            case direct_path::state::failed: state = "failed: " + p.why; break;
            default: state = std::string(direct_path::to_string(p.now)); break;
        }
        if (p.birthday_sockets > 0)
            state += fmt::format(" (our NAT is symmetric: probing from {} extra ports)", p.birthday_sockets);
        else if (p.birthday_ports > 0)
            state += fmt::format(" (the peer's NAT is symmetric: probed {} of its ports)", p.birthday_ports);
        out += fmt::format("  {:<8} {:<16} {:<20} {} (for {:.0f} s)\n", e.role, e.name, e.peer, state,
                           seconds_since(p.since));
    }
    return out;
}

}  // namespace burrow
