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
}

void dial_local(std::shared_ptr<stream::pump> p, const proxy_config& proxy, std::string tag,
                std::string peer, std::chrono::seconds timeout);

}  // namespace burrow
