"""visitor: iperf3 single stream through a visitor (the relay path: Visit stream, the server's
splice, Work stream) next to a tcp proxy of the same home client and `ssh -L`, TLS off and on."""
import time

from ..peers import burrow, iperf, ssh
from ..report import fmt, fmt_ratio, ratio, target_ge
from ..waits import free_ports, wait_listen, wait_log

RESULT_KEY = "visitor"
TOOLS = ["iperf3", "ssh", "ssh-keygen", ssh.SSHD]
SECRET = "bench-secret-key"

PATHS = [
    ("ssh_l", "ssh -L"),
    ("tcp_plain", "Burrow tcp proxy, TLS off"),
    ("visit_plain", "Burrow visitor, TLS off"),
    ("tcp_tls", "Burrow tcp proxy, TLS on"),
    ("visit_tls", "Burrow visitor, TLS on"),
]


def budget(s):
    return s.rounds * len(PATHS) * (s.seconds + 2) + 90


def _start(r, tag, tls, iperf_port):
    """A server, a home client with a tcp proxy and a secret proxy to iperf3, and a laptop
    client with a visitor of the secret one: (server, home, laptop, tcp port, visitor port)."""
    srv_bin, cli_bin = r.binaries()
    server = burrow.start_server(r, tag, tls, srv_bin, f"burrow-server ({tag})")
    home = burrow.start_client(r, f"{tag}-home", server, cli_bin, None, None, None, tables=(
        f'[[proxies]]\nname = "iperf"\nlocal_port = {iperf_port}\nremote_port = 0\n'
        f'[[proxies]]\nname = "iperf-secret"\ntype = "secret"\nlocal_port = {iperf_port}\n'
        f'secret_key = "{SECRET}"\n'))
    tcp_port = int(wait_log(home, r"\[iperf\] proxy up: remote port ([0-9]+)", 20,
                            f"burrow-client ({tag}-home) did not bring the tcp proxy up").group(1))
    wait_log(home, r"\[iperf-secret\] proxy up: secret", 20,
             f"burrow-client ({tag}-home) did not bring the secret proxy up")
    visit_port = free_ports(1)[0]
    laptop = burrow.start_client(r, f"{tag}-laptop", server, cli_bin, None, None, None, tables=(
        f'[[visitors]]\nname = "v"\nserver_name = "iperf-secret"\nsecret_key = "{SECRET}"\n'
        f'bind_port = {visit_port}\n'))
    wait_log(laptop, r"logged in to", 20, f"burrow-client ({tag}-laptop) did not log in")
    wait_listen(visit_port, 5, f"visitor port {visit_port} not listening")
    wait_listen(tcp_port, 5, f"burrow proxy port {tcp_port} not listening")
    time.sleep(1)   # let the home client fill its work-stream pool
    return server, home, laptop, tcp_port, visit_port


def run(r):
    s = r.settings
    iperf_port = free_ports(1)[0]
    server = iperf.start_server(r, iperf_port)
    sshd = ssh.start_sshd(r, "vis")
    fwd = ssh.start_local_forward(r, "vis", sshd, iperf_port)
    plain = _start(r, "vplain", False, iperf_port)
    tls = _start(r, "vtls", True, iperf_port)
    ports = [("ssh_l", fwd.port), ("tcp_plain", plain[3]), ("visit_plain", plain[4]),
             ("tcp_tls", tls[3]), ("visit_tls", tls[4])]
    for rnd in range(1, s.rounds + 1):
        for key, port in ports:
            iperf.measure(r, key, port, rnd, 1, s.seconds)
    for label, (srv, home, laptop, _, _) in (("TLS off", plain), ("TLS on", tls)):
        burrow.stop_checked(r, f"burrow-client (visitor, {label})", laptop)
        burrow.stop_checked(r, f"burrow-client (home, {label})", home)
        burrow.stop_checked(r, f"burrow-server (visitor, {label})", srv.proc)
    ssh.stop(r, fwd)
    r.procs.stop(server)


def report(work, meta):
    rounds = int(meta.get("rounds", 1))
    tput = {key: iperf.summarize(work, key, 1, rounds) for key, _ in PATHS}
    g = {key: tput[key]["gbps"] for key, _ in PATHS}
    lines = [f"### Visitor (relay path), iperf3 single stream, {meta.get('seconds', '?')} s per run, "
             f"loopback, median of {rounds} interleaved rounds", "",
             "| path | Gbit/s | ratio vs ssh -L | visitor / tcp proxy |", "|---|---:|---:|---:|"]
    for key, label in PATHS:
        vs_tcp = ""
        if key.startswith("visit"):
            vs_tcp = fmt_ratio(ratio(g[key], g[key.replace("visit", "tcp")]))
        lines.append(f"| {label} | {fmt(g[key])} | {fmt_ratio(ratio(g[key], g['ssh_l']))} | {vs_tcp} |")
    lines.append("")
    lines.append("Gbit/s per round: " + "; ".join(
        f"{label}: " + " ".join(fmt(d["gbps"]) for d in tput[key]["rounds"]) for key, label in PATHS))
    for key, label in PATHS:
        if tput[key].get("error"):
            lines.append(f"\n- {label}: iperf3 failed: {tput[key]['error']}")
    lines.append("")
    targets = [target_ge(f"visitor >= 0.85x tcp proxy, {t}",
                         ratio(g[f"visit_{m}"], g[f"tcp_{m}"]), 0.85)
               for m, t in (("plain", "TLS off"), ("tls", "TLS on"))]
    return lines, tput, targets
