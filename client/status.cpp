#include "client/status.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "client/json_text.hpp"
#include "client/p2p/path_status.hpp"
#include "common/config/client.hpp"
#include "common/stream/pump.hpp"

namespace burrow {

std::string render_status(const status_input& in, bool json) {
    const auto& c = in.config;
    const auto& states = in.states;
    const auto& visiting = in.visits;
    const auto& run = in.run_id;
    const auto server = fmt::format("{}:{}", c.server_addr, c.server_port);
    auto state_of = [&](const std::string& name) {
        auto it = states.find(name);
        return it == states.end() ? std::string("not registered yet") : it->second;
    };
    auto sessions_now = in.sessions;
    std::sort(sessions_now.begin(), sessions_now.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    struct listed {
        std::uint64_t id;
        stream::pump::snapshot s;
        bool visit;
        // Bytes each way: a home session delivers what comes from the user
        // to its service; a visit delivers what comes from the service.
        std::uint64_t to_service() const { return visit ? s.counts.sent : s.counts.delivered; }
        std::uint64_t from_service() const { return visit ? s.counts.delivered : s.counts.sent; }
    };
    std::vector<listed> open;
    for (auto& [id, p] : sessions_now)
        if (auto s = p->describe(); s.pumping)
            open.push_back({id, std::move(s), visiting.count(id) > 0});
    std::string out;
    if (json) {
        out = fmt::format("{{\"client_id\":{},\"server\":{},\"connected\":{},"
                          "\"heap_in_use_bytes\":{},\"streams_per_connection\":[{}],\"proxies\":[",
                          json_string(c.client_id), json_string(server), run.empty() ? "false" : "true",
                          in.heap_in_use, fmt::join(in.connections, ","));
        for (std::size_t i = 0; i < c.proxies.size(); ++i)
            out += fmt::format("{}{{\"name\":{},\"type\":{},\"state\":{}}}", i ? "," : "",
                               json_string(c.proxies[i].name), json_string(c.proxies[i].type),
                               json_string(state_of(c.proxies[i].name)));
        out += "],\"visitors\":[";
        for (std::size_t i = 0; i < c.visitors.size(); ++i) {
            const auto& v = c.visitors[i];
            out += fmt::format("{}{{\"name\":{},\"server_name\":{},\"listen\":{}}}", i ? "," : "",
                               json_string(v.name), json_string(v.server_name),
                               json_string(v.bind_port ? fmt::format("{}:{}", v.bind_addr, v.bind_port)
                                                       : std::string("connect only")));
        }
        out += "],\"sessions\":[";
        for (std::size_t i = 0; i < open.size(); ++i) {
            const auto& l = open[i];
            const auto& s = l.s;
            out += fmt::format(
                "{}{{\"id\":{},\"kind\":{},\"tag\":{},\"peer\":{},\"age_s\":{:.1f},"
                "\"bytes_to_service\":{},\"bytes_from_service\":{},\"path\":\"{}\","
                "\"state\":{},\"resumptions\":{}}}",
                i ? "," : "", l.id, l.visit ? "\"visit\"" : "\"proxy\"", json_string(s.tag),
                json_string(s.peer), s.age_seconds, l.to_service(), l.from_service(), s.path,
                s.detached ? "\"detached\"" : "\"open\"", s.counts.resumptions);
        }
        out += "],\"direct_paths\":" + paths_json(in.paths);
        return out + "}\n";
    }
    out = fmt::format("burrow-client {}: {} {} ({} connection{}, streams on each: {})\n",
                      c.client_id, run.empty() ? "not connected to" : "connected to", server,
                      in.connections.size(), in.connections.size() == 1 ? "" : "s",
                      fmt::join(in.connections, " "));
    out += fmt::format("proxies ({}):\n", c.proxies.size());
    for (const auto& p : c.proxies)
        out += fmt::format("  {:<16} {:<7} {}\n", p.name, p.type, state_of(p.name));
    out += fmt::format("visitors ({}):\n", c.visitors.size());
    for (const auto& v : c.visitors)
        out += fmt::format("  {:<16} {} -> {}\n", v.name,
                           v.bind_port ? fmt::format("{}:{}", v.bind_addr, v.bind_port)
                                       : std::string("connect only"),
                           v.server_name);
    out += fmt::format("sessions ({}):\n", open.size());
    for (const auto& l : open)
        out += fmt::format("  {:<16} from {:<22} {:>8.1f} s  to service {} B, from service {} B, "
                           "{}, {}, {} resumptions\n",
                           l.s.tag, l.s.peer.empty() ? "?" : l.s.peer, l.s.age_seconds,
                           l.to_service(), l.from_service(), l.s.path, l.s.detached ? "detached" : "open",
                           l.s.counts.resumptions);
    out += paths_text(in.paths);
    return out;
}

}  // namespace burrow
