"""tcp: iperf3 (1 and 8 streams) direct, through a two-hop socat chain, `ssh -R`, and Burrow with
TLS off and on (and the baseline build's, with BURROW_BASELINE_BIN)."""
from ..peers import iperf, tcp_paths
from ..report import fmt, fmt_ratio, load_json, ratio, target_ge, write_json
from ..waits import free_ports

RESULT_KEY = "throughput"
TOOLS = ["iperf3"] + tcp_paths.TOOLS

PATHS = [("direct", "direct iperf3")] + tcp_paths.PATHS[1:]
BASELINE_PATHS = tcp_paths.BASELINE_PATHS
STREAMS = (1, 8)


def budget(s):
    return s.rounds * tcp_paths.count(s) * len(STREAMS) * (s.seconds + 2) + 60


def run(r):
    s = r.settings
    iperf_port = free_ports(1)[0]
    server = iperf.start_server(r, iperf_port)
    # All paths stay up while they are measured in interleaved rounds, so that the machine's
    # changing load hits each of them alike.
    paths = tcp_paths.Paths(r, iperf_port, "", "iperf")
    write_json(r.tmp / "ssh-cipher.json", {"cipher": paths.ssh_cipher()})
    for rnd in range(1, s.rounds + 1):
        for p in paths.all:
            for streams in STREAMS:
                iperf.measure(r, p.key, p.port, rnd, streams, s.seconds)
    paths.stop()
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
    cipher = (load_json(work / "ssh-cipher.json") or {}).get("cipher")
    lines.append(f"ssh -R cipher (from ssh -v, this machine's defaults): {cipher or 'not known'}")
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
