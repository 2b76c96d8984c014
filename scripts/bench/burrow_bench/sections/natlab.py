"""natlab: the p2p section's measurement behind real kernel NATs. A NAT lab of network
namespaces (peers/netns.py, as tests/natlab/lab.cpp builds it): an internet namespace that
routes, the server's (203.0.113.10, burrow-server with TLS on and its rendezvous on udp 7000 and
7001), and two sites, "home" and "lap", each a port-restricted cone NAT (nftables masquerade,
new connections from the WAN dropped) with a host behind it. The home host runs an iperf3
server and a client with a secret proxy (p2p = true) to it; the laptop host a client with two
visitors of it (p2p = true and p2p = false), and iperf3 through them. Each round starts a fresh
server and clients (and the routers forget their mappings), times the direct path from the
first connection to the p2p visitor until the laptop's status lists it "up" with QUIC up, then
runs iperf3 single stream through the relay visitor and through the p2p visitor, upload and
download (-R), each run's path checked in the laptop's log (p2p.py does all of that; this
section gives it the lab). Needs root, ip and nft; skips itself (saying why) without them."""
import os

from ..console import log
from ..errors import BenchError
from ..peers import burrow, netns
from ..report import load_json, write_json
from ..waits import wait_log
from . import p2p

RESULT_KEY = "natlab"
TOOLS = ["iperf3"]     # ip and nft: checked by run(), which skips without them
RUNS = p2p.RUNS[:1] + [p2p.RELAY_REV] + p2p.RUNS[1:]
SERVER_PORT = 7000     # in the server's namespace, so nothing else holds it; udp 7000-7001 too
IPERF_PORT = 5201      # in the home host's namespace
DIRECT_PORT, RELAY_PORT = 6000, 6001   # the visitors', in the laptop host's namespace
HOME, LAPTOP = "home", "lap"           # the sites
HEADING = ("### Direct path through two NATs (NAT lab: network namespaces, port-restricted cone "
           "<-> port-restricted cone, nftables), TLS on")
WHERE = "NAT lab, two port-restricted cone NATs"


def budget(s):
    return p2p.budget(s, RUNS) + 60


def _unavailable():
    """Why the lab cannot be built here (None when it can)."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, nftables)"
    missing = [name for name in ("ip", "nft") if netns.tool(name) is None]
    if missing:
        return f"missing {' and '.join(missing)} (iproute2, nftables)"
    if not os.path.exists("/proc/self/ns/net"):
        return "this kernel has no network namespaces"
    return None


def _client_toml(tag, fingerprint, tables):
    return (f'server_addr = "{netns.SERVER_ADDR}"\nserver_port = {SERVER_PORT}\n'
            f'client_id = "bench-{tag}"\n[auth]\ntoken = "{burrow.TOKEN}"\n'
            f'[tls]\nenable = true\nserver_fingerprint = "{fingerprint}"\n'
            f"[transport]\npool_count = 8\n{tables}")


def _visitor(name, port, direct):
    return (f'[[visitors]]\nname = "{name}"\nserver_name = "iperf-secret"\n'
            f'secret_key = "{p2p.SECRET}"\nbind_port = {port}\np2p = {str(direct).lower()}\n')


def _start_visit(r, lab, rnd):
    """A fresh server, home client and laptop client in the lab (p2p.run_rounds's start_visit):
    burrow.P2PVisit with the visitors "vdirect" and "vrelay" on the laptop's ports."""
    lab.flush_conntrack()
    tag = f"natlab{rnd}"
    srv_bin, cli_bin = r.binaries()
    dirs = {}
    for role in ("server", "home", "laptop"):
        dirs[role] = r.tmp / (tag if role == "server" else f"{tag}-{role}")
        dirs[role].mkdir(parents=True, exist_ok=True)
    (dirs["server"] / "server.toml").write_text(
        f'bind_addr = "0.0.0.0"\nbind_port = {SERVER_PORT}\n'
        f'data_dir = "{dirs["server"] / "data"}"\n[auth]\ntoken = "{burrow.TOKEN}"\n'
        "[tls]\nenable = true\n")
    server = lab.start(f"{tag}-server", "srv",
                       [srv_bin, "-c", dirs["server"] / "server.toml", "-l", "info"])
    what = f"burrow-server ({tag})"
    wait_log(server, rf"listening for clients on 0\.0\.0\.0:{SERVER_PORT} ", 15,
             f"{what} did not start")
    fp = wait_log(server, burrow.FINGERPRINT, 5, f"{what} logged no fingerprint").group(1)
    wait_log(server, rf"rendezvous \(STUN\) on udp 0\.0\.0\.0:{SERVER_PORT} and ", 5,
             f"{what} runs no rendezvous")
    tables = {"home": (f'[[proxies]]\nname = "iperf-secret"\ntype = "secret"\nlocal_port = '
                       f'{IPERF_PORT}\nsecret_key = "{p2p.SECRET}"\np2p = true\n'),
              "laptop": (_visitor("vdirect", DIRECT_PORT, True) +
                         _visitor("vrelay", RELAY_PORT, False))}
    clients = {}
    for role, site in (("home", HOME), ("laptop", LAPTOP)):
        config = dirs[role] / "client.toml"
        config.write_text(_client_toml(f"{tag}-{role}", fp, tables[role]))
        clients[role] = lab.start(f"{tag}-{role}-client", f"h-{site}",
                                  [cli_bin, "-c", config, "-l", "info"])
        if role == "home":
            wait_log(clients[role], r"\[iperf-secret\] proxy up: secret", 20,
                     f"burrow-client ({tag}-home) did not bring the secret proxy up")
    wait_log(clients["laptop"], r"logged in to", 20, f"burrow-client ({tag}-laptop) did not log in")
    for port in (DIRECT_PORT, RELAY_PORT):
        lab.wait_listen(clients["laptop"], port, 5, f"visitor port {port} not listening")
    return burrow.P2PVisit(burrow.Server(server, SERVER_PORT, fp), clients["home"],
                           clients["laptop"], dirs["laptop"] / "client.toml", DIRECT_PORT,
                           RELAY_PORT)


def run(r):
    why = _unavailable()
    if why is None:
        lab = netns.NatLab(r, netns.tool("ip"))
        try:
            netns.remove_leftovers(lab.ip)
            try:
                lab.build()
            except BenchError as e:
                if lab.made:
                    raise
                why = f"cannot create a network namespace here: {e}"   # the very first failed
            if why is None:
                _run_lab(r, lab)
        finally:
            lab.close()
    if why is not None:
        log(f"natlab: skipped: {why}")
        write_json(r.tmp / "natlab.json", {"skipped": why})


def _run_lab(r, lab):
    home = lab.add_site(HOME)
    laptop = lab.add_site(LAPTOP)
    log(f"natlab: lab up ({lab.prefix}*): server {netns.SERVER_ADDR}, home {lab.lan(0, 2)} "
        f"behind {lab.wan(0, 2)}, laptop {lab.lan(1, 2)} behind {lab.wan(1, 2)}")
    iperf_server = lab.start("natlab-iperf3", home,
                             ["iperf3", "-s", "-B", "127.0.0.1", "-p", IPERF_PORT])
    lab.wait_listen(iperf_server, IPERF_PORT, 10, "iperf3 server did not start")
    p2p.run_rounds(r, "natlab", lambda rnd: _start_visit(r, lab, rnd), RUNS,
                   wrap=lab.argv(laptop, []), connect=lambda port: lab.connect(laptop, port))


def report(work, meta):
    skipped = (load_json(work / "natlab.json") or {}).get("skipped")
    if skipped:
        return [f"{HEADING}: skipped: {skipped}", ""], {"skipped": skipped}, []
    return p2p.report_rounds(work, meta, "natlab", HEADING, WHERE, RUNS,
                             targets_on=("direct", "direct_rev"))
