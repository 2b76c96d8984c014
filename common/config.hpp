// Both programs' configuration at once, for code written before the split into
// common/config/. New code includes what it uses instead:
//   common/config/problem.hpp  config_problem, config_error
//   common/config/checks.hpp   the rules values follow (names, headers, ports, ...)
//   common/config/server.hpp   server_config and its loader
//   common/config/client.hpp   client_config, proxy_config and their loader
#pragma once

#include "common/config/checks.hpp"
#include "common/config/client.hpp"
#include "common/config/problem.hpp"
#include "common/config/server.hpp"
