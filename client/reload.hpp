// A running client's reload (`burrow-client reload -c F`, or SIGHUP): what an
// edited config changes, worked out without touching anything (pure code).
//
//   [[proxies]]        added ones are registered, removed ones closed, changed
//                      ones closed and registered again; unchanged ones, and
//                      the open connections of every proxy, are not touched
//   [[visitors]]       added ones start listening, removed ones stop, changed
//                      ones listen again; their open connections go on
//   [log] level        when it changed in the file (a -l stays otherwise)
//   shutdown_timeout   for the next stop
//
// Anything else (server, auth, tls, transport, admin, p2p) takes a restart: a
// reload that finds it changed says so and keeps the old value.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/config/client.hpp"

namespace burrow {

struct reload_plan {
    std::shared_ptr<const client_config> applied;  // what runs from now on
    std::vector<std::string> restart_only;         // keys changed in the file, kept as they are
    std::vector<std::string> added, removed, changed;  // proxies
    std::vector<std::string> visitors_removed, visitors_changed;
    std::vector<visitor_config> visitors_added;   // and the changed ones' new definitions
    bool level_changed = false;
    // One line: what changed ("reloaded F: proxies +web -ssh ~nas; visitors none; ...").
    std::string summary(const std::string& file) const;
};

// `now` runs; `next` was just loaded from the file.
reload_plan plan_reload(const client_config& now, const client_config& next);

}  // namespace burrow
