// What `burrow-client status` prints (text or JSON), from what the running
// client holds: pure formatting, no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "client/p2p/punch_manager.hpp"

namespace burrow {

struct client_config;
namespace stream {
class pump;
}

struct status_input {
    explicit status_input(const client_config& c) : config(c) {}
    const client_config& config;                   // in force
    std::string run_id;                            // "" while not connected
    std::map<std::string, std::string> states;     // proxy -> "up: ..." / "rejected: ..."
    std::set<std::uint64_t> visits;                // which sessions are visits
    std::vector<std::pair<std::uint64_t, std::shared_ptr<stream::pump>>> sessions;
    std::vector<punch_manager::entry> paths;       // direct paths
    std::vector<std::size_t> connections;          // streams open on each connection
    std::size_t heap_in_use = 0;                   // bytes (heap_release.hpp)
};

std::string render_status(const status_input& in, bool json);

}  // namespace burrow
