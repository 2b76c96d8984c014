// The direct paths as `burrow-client status` shows them.
#pragma once

#include <string>
#include <vector>

#include "client/p2p/punch_manager.hpp"

namespace burrow {

// [{"role","name","peer","state","peer_addr","mapped","local_port","rtt_ms","quiet_s","why","for_s","punch_id"}]
std::string paths_json(const std::vector<punch_manager::entry>& paths);
// "direct paths (N):" and a line each.
std::string paths_text(const std::vector<punch_manager::entry>& paths);

}  // namespace burrow
