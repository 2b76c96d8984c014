// `burrow-client connect -c F NAME`: the visitor NAME of F on stdin/stdout,
// for ssh -o ProxyCommand='burrow-client connect -c F NAME' (no local port).
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace burrow {

struct client_config;
struct cli_args;

// Logs in (without the config's proxies and listeners), visits, and copies
// between stdin/stdout and the visit until it ends. Exit code: 0 when the
// visit ran and closed, 1 when it was refused or failed, 2 for no such visitor.
// Once a visit has started, the process exits from here (_exit) when it ends.
int run_connect(std::shared_ptr<const client_config> config, const cli_args& args);

}  // namespace burrow
