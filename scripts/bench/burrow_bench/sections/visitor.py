"""visitor: iperf3 single stream through a visitor (the relay path: Visit stream, the server's
splice, Work stream) next to a tcp proxy of the same home client and `ssh -L`, TLS off and on,
with the CPU seconds each path's own processes spend per GiB moved."""
from ..peers import burrow, iperf, ssh
from ..report import fmt, fmt_ratio, ratio, target_ge
from ..rounds import in_order
from ..waits import free_ports

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


def run(r):
    s = r.settings
    iperf_port = free_ports(1)[0]
    server = iperf.start_server(r, iperf_port)
    sshd = ssh.start_sshd(r, "vis")
    fwd = ssh.start_local_forward(r, "vis", sshd, iperf_port)
    plain = burrow.start_visit(r, "vplain", False, iperf_port, SECRET)
    tls = burrow.start_visit(r, "vtls", True, iperf_port, SECRET)
    def carriers(v, visit):  # a visit passes the laptop's client too
        return [v.server.proc.pid, v.home.pid] + ([v.laptop.pid] if visit else [])
    ports = [("ssh_l", fwd.port, [fwd.proc.pid, sshd.proc.pid]),
             ("tcp_plain", plain.tcp_port, carriers(plain, False)),
             ("visit_plain", plain.visit_port, carriers(plain, True)),
             ("tcp_tls", tls.tcp_port, carriers(tls, False)),
             ("visit_tls", tls.visit_port, carriers(tls, True))]
    for rnd in range(1, s.rounds + 1):
        for key, port, pids in in_order(ports, rnd):
            iperf.measure(r, key, port, rnd, 1, s.seconds, pids=pids)
    for label, v in (("TLS off", plain), ("TLS on", tls)):
        burrow.stop_visit(r, v, label)
    ssh.stop(r, fwd)
    r.procs.stop(server)


def report(work, meta):
    rounds = int(meta.get("rounds", 1))
    tput = {key: iperf.summarize(work, key, 1, rounds) for key, _ in PATHS}
    g = {key: tput[key]["gbps"] for key, _ in PATHS}
    lines = [f"### Visitor (relay path), iperf3 single stream, {meta.get('seconds', '?')} s per run, "
             f"loopback, median of {rounds} interleaved rounds", "",
             "| path | Gbit/s | ratio vs ssh -L | visitor / tcp proxy | CPU s per GiB | CPU vs tcp proxy |",
             "|---|---:|---:|---:|---:|---:|"]
    for key, label in PATHS:
        vs_tcp = cpu_vs_tcp = ""
        cpu = tput[key].get("cpu_s_per_gib")
        if key.startswith("visit"):
            tcp = key.replace("visit", "tcp")
            vs_tcp = fmt_ratio(ratio(g[key], g[tcp]))
            cpu_vs_tcp = fmt_ratio(ratio(cpu, tput[tcp].get("cpu_s_per_gib")))
        lines.append(f"| {label} | {fmt(g[key])} | {fmt_ratio(ratio(g[key], g['ssh_l']))} | {vs_tcp} | "
                     f"{fmt(cpu, 3)} | {cpu_vs_tcp} |")
    lines += ["", "CPU s per GiB: user + system time of the path's own processes (server and home "
              "client; a visit also the laptop's client; sshd and ssh for ssh -L), iperf3 not counted."]
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
