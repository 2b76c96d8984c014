#include "client/nat.hpp"

#include <cstdio>
#include <exception>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include "client/client.hpp"
#include "client/p2p/nat_kind.hpp"
#include "client/p2p/stun_probe.hpp"
#include "common/cli.hpp"
#include "common/config/client.hpp"
#include "common/log.hpp"
#include "common/stun/codec.hpp"

namespace burrow {

namespace {

using endpoint = boost::asio::ip::udp::endpoint;

std::string text(const std::optional<endpoint>& ep) {
    return ep ? fmt::format("{}", fmt::streamed(*ep)) : std::string();
}

// The three asks: the first port and the second from one socket (mapping),
// then, from a socket that has sent nowhere else, the first port asked to
// answer from the second (filtering).
nat_observation observe(const endpoint& first) {
    const endpoint second(first.address(), static_cast<std::uint16_t>(first.port() + 1));
    nat_observation seen;
    stun_probe mapping(first);
    seen.local = mapping.local();
    if (auto a = mapping.ask(first, 0, first)) seen.mapped = a->mapped;
    if (!seen.mapped) return seen;
    if (auto a = mapping.ask(second, 0, second)) seen.mapped_other = a->mapped;
    stun_probe filtering(first);
    seen.other_port_answered = filtering.ask(first, stun::change_port, second).has_value();
    return seen;
}

void print_json(const endpoint& server, const nat_observation& seen, const nat_verdict& v) {
    std::printf(
        "{\"server\":\"%s\",\"local\":\"%s\",\"mapped\":\"%s\",\"mapped_other\":\"%s\","
        "\"mapping\":\"%s\",\"port_filtered\":%s,\"type\":\"%s\",\"description\":\"%s\","
        "\"advice\":\"%s\"}\n",
        text(server).c_str(), text(seen.local).c_str(), text(seen.mapped).c_str(),
        text(seen.mapped_other).c_str(), std::string(to_string(v.mapping)).c_str(),
        v.port_filtered ? "true" : "false", std::string(to_string(v.kind)).c_str(),
        std::string(describe(v.kind)).c_str(), std::string(advice(v.kind)).c_str());
}

void print_text(const endpoint& server, const nat_observation& seen, const nat_verdict& v) {
    std::string out = fmt::format("NAT behaviour seen by the rendezvous at {} (UDP ports {} and {})\n",
                                  fmt::streamed(server.address()), server.port(), server.port() + 1);
    out += fmt::format("  local address    {}\n", text(seen.local));
    if (seen.mapped) {
        out += fmt::format("  mapped address   {}", text(seen.mapped));
        if (v.mapping == nat_mapping::endpoint_dependent)
            out += fmt::format(" (and {} toward the second port)", text(seen.mapped_other));
        out += "\n";
        out += fmt::format("  mapping          {}\n",
                           v.mapping == nat_mapping::none ? "none (no NAT)"
                                                          : std::string(to_string(v.mapping)));
        out += fmt::format("  filtering        {}\n",
                           v.port_filtered
                               ? "address and port dependent (the answer from the other port was dropped)"
                               : "not port dependent (the answer from the other port came through)");
    }
    out += fmt::format("NAT type: {}\n{}{}\n", describe(v.kind),
                       static_cast<char>(std::toupper(static_cast<unsigned char>(advice(v.kind)[0]))),
                       advice(v.kind).substr(1));
    std::fputs(out.c_str(), stdout);
}

}  // namespace

int run_nat(std::shared_ptr<const client_config> config, const cli_args& args) {
    // A one-shot report: the client's own lifecycle lines would only be noise
    // around it (-l brings them back).
    if (args.log_level.empty()) log::set_level("warn");
    const auto logged_in = client::log_in_once(*config, "nat", "nat:");
    if (!logged_in) return 1;
    const auto port = logged_in->rendezvous_port();
    logged_in->stop();
    if (port == 0) {
        log::get("nat").error("the server at {} runs no rendezvous ([p2p] enable = false): "
                              "visitors there always use the relay",
                              config->server_addr);
        return 1;
    }
    try {
        boost::asio::io_context io;
        boost::asio::ip::udp::resolver resolver(io);
        const auto found = resolver.resolve(config->server_addr, std::to_string(port));
        const endpoint server = *found.begin();
        const auto seen = observe(server);
        const auto verdict = classify(seen);
        if (args.json)
            print_json(server, seen, verdict);
        else
            print_text(server, seen, verdict);
        return 0;
    } catch (const std::exception& e) {
        log::get("nat").error("probing the rendezvous at {}:{} failed: {}", config->server_addr,
                              port, e.what());
        return 1;
    }
}

}  // namespace burrow
