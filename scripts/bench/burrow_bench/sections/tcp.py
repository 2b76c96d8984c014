"""tcp: iperf3 (1 and 8 streams) direct, through a two-hop socat chain, `ssh -R`, and Burrow with
TLS off and on (and the baseline build's, with BURROW_BASELINE_BIN)."""
from ..peers import burrow, chain, iperf, socat, ssh
from ..report import fmt, fmt_ratio, ratio, target_ge
from ..waits import free_ports

RESULT_KEY = "throughput"
TOOLS = ["iperf3", "socat", "ssh", "ssh-keygen", ssh.SSHD]

PATHS = [
    ("direct", "direct iperf3"),
    ("socat", "socat 2-hop chain"),
    ("ssh", "ssh -R"),
    ("burrow_plain", "Burrow tcp, TLS off"),
    ("burrow_tls", "Burrow tcp, TLS on"),
]
BASELINE_PATHS = [("base_plain", "Burrow tcp, TLS off, baseline build"),
                  ("base_tls", "Burrow tcp, TLS on, baseline build")]
STREAMS = (1, 8)


def budget(s):
    paths = len(PATHS) + (len(BASELINE_PATHS) if s.baseline_bin else 0)
    return s.rounds * paths * len(STREAMS) * (s.seconds + 2) + 60


def run(r):
    s = r.settings
    iperf_port = free_ports(1)[0]
    server = iperf.start_server(r, iperf_port)
    # All paths stay up while they are measured in interleaved rounds, so that the machine's
    # changing load hits each of them alike.
    socat_chain = socat.start_chain(r, iperf_port)
    fwd = ssh.start(r, "tcp", iperf_port)
    plain = burrow.start_tcp(r, "plain", False, "iperf", iperf_port)
    tls = burrow.start_tcp(r, "tls", True, "iperf", iperf_port)
    bases = []
    if s.baseline_bin:
        bases = [burrow.start_tcp(r, "plainbase", False, "iperf", iperf_port, baseline=True),
                 burrow.start_tcp(r, "tlsbase", True, "iperf", iperf_port, baseline=True)]
    ports = [("direct", iperf_port), ("socat", socat_chain.port), ("ssh", fwd.port),
             ("burrow_plain", plain.remote_port), ("burrow_tls", tls.remote_port)]
    ports += [(key, pair.remote_port) for (key, _), pair in zip(BASELINE_PATHS, bases)]

    for rnd in range(1, s.rounds + 1):
        for key, port in ports:
            for streams in STREAMS:
                iperf.measure(r, key, port, rnd, streams, s.seconds)

    for pair in bases:
        burrow.stop_pair(r, pair)
    chain.stop(r, socat_chain)
    ssh.stop(r, fwd)
    burrow.stop_pair(r, plain, "TLS off")
    burrow.stop_pair(r, tls, "TLS on")
    r.procs.stop(server)


def report(work, meta):
    rounds = int(meta.get("rounds", 1))
    paths = list(PATHS)
    if (work / "iperf-base_plain-P1-r1.json").exists():
        paths += BASELINE_PATHS
    tput = {key: {f"P{n}": iperf.summarize(work, key, n, rounds) for n in STREAMS} for key, _ in paths}
    one = {k: tput[k]["P1"]["gbps"] for k, _ in paths}

    lines = [f"### Throughput (iperf3, {meta.get('seconds', '?')} s per run, loopback, "
             f"median of {rounds} interleaved rounds)", "",
             "| path | 1 stream Gbit/s | 8 streams Gbit/s | 1-stream ratio vs ssh -R | 1-stream ratio vs socat chain |",
             "|---|---:|---:|---:|---:|"]
    for key, label in paths:
        g1, g8 = tput[key]["P1"]["gbps"], tput[key]["P8"]["gbps"]
        lines.append(f"| {label} | {fmt(g1)} | {fmt(g8)} | {fmt_ratio(ratio(g1, one['ssh']))} | "
                     f"{fmt_ratio(ratio(g1, one['socat']))} |")
    lines.append("")
    lines.append("Single-stream Gbit/s per round: " + "; ".join(
        f"{label}: " + " ".join(fmt(d["gbps"]) for d in tput[key]["P1"]["rounds"])
        for key, label in paths))
    for key, label in paths:
        for s in ("P1", "P8"):
            if tput[key][s].get("error"):
                lines.append(f"\n- {label} ({s}): iperf3 failed: {tput[key][s]['error']}")
    lines.append("")

    b = one["burrow_plain"]
    targets = [target_ge("Burrow TLS off, 1 stream >= 1.5x ssh -R", ratio(b, one["ssh"]), 1.5),
               target_ge("Burrow TLS off, 1 stream >= 0.8x socat chain", ratio(b, one["socat"]), 0.8)]
    if "base_plain" in tput:
        # The build under test against the baseline, for 1 and 8 streams.
        cmp = []
        for mine, base, label in (("burrow_plain", "base_plain", "TLS off"),
                                  ("burrow_tls", "base_tls", "TLS on")):
            for s in ("P1", "P8"):
                cmp.append(f"{label} {s[1:]} stream{'s' if s == 'P8' else ''}: " + fmt(
                    ratio(tput[mine][s]["gbps"], tput[base][s]["gbps"])) + "x")
        lines.append("Burrow / baseline build: " + "; ".join(cmp))
        lines.append("")
    return lines, tput, targets
