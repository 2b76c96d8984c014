// Connects a session to its proxy's local service: resolves and dials
// local_addr:local_port within a deadline, then starts the pump on the
// socket, or tells the peer why not (pump::fail). The same for a session
// that came over a Work stream and one that came over a direct path.
#pragma once

#include <chrono>
#include <memory>
#include <string>

namespace burrow {

struct proxy_config;
namespace stream {
class pump;
class rate_limit;
}

// The token bucket of `proxy`'s bandwidth_limit, shared by its sessions
// (relayed and direct); nullptr without a limit.
std::shared_ptr<stream::rate_limit> bandwidth_of(const proxy_config& proxy);

// Dials and starts the pump, which moves no more than the proxy's bandwidth_limit.
void dial_local(std::shared_ptr<stream::pump> p, const proxy_config& proxy, std::string tag,
                std::string peer, std::chrono::seconds timeout);

}  // namespace burrow
