// `burrow-client nat -c F [--json]`: this network's NAT behaviour as the
// server's rendezvous sees it, and what it means for direct (P2P) paths.
#pragma once

#include <memory>

namespace burrow {

struct client_config;
struct cli_args;

// Logs in (to learn the rendezvous port), probes, prints. Exit code 0 when
// the behaviour was measured (UDP blocked included), 1 when the login
// failed or the server runs no rendezvous.
int run_nat(std::shared_ptr<const client_config> config, const cli_args& args);

}  // namespace burrow
