// A running server's reload (SIGHUP): the config file is read again and what
// can change safely takes effect at once.
//
//   tokens (auth.token, [[auth.clients]])  new logins; a run whose client's
//                                          token changed (a revoked device) ends
//   allow_ports, max_proxies_per_client    proxies registered from then on
//   max_clients, max_login_failures        logins from then on
//   max_pending_connections, work_timeout, heartbeat_timeout,
//   max_connections_per_source / _per_proxy
//                                          at once, for every client
//   [log] level                            when it changed in the file (so a
//                                          -l on the command line stays)
//
// Anything else takes a restart: a reload that finds it changed says so and
// keeps the old value. A file with errors changes nothing: the same messages
// as `verify` are logged and the server runs on as it was.
#pragma once

namespace burrow {

struct server_state;

// False when the file could not be loaded (nothing changed).
bool reload_config(server_state& st);

}  // namespace burrow
