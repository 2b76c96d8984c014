"""tcp: iperf3 (1 and 8 streams) direct, through a two-hop socat chain, `ssh -R`, and Burrow with
TLS off and on (and the baseline build's, with BURROW_BASELINE_BIN), with the CPU seconds each
tunnel's own processes spend per GiB moved."""
from ..peers import iperf, tcp_paths
from ..report import fmt, fmt_ratio, load_json, median, ratio, target_ge, target_le, write_json
from ..rounds import in_order
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
        for p in in_order(paths.all, rnd):
            for streams in STREAMS:
                iperf.measure(r, p.key, p.port, rnd, streams, s.seconds, pids=p.pids)
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

    lines += _cpu_lines(tput, paths)

    b = one["burrow_plain"]
    targets = [target_ge("Burrow TLS off, 1 stream >= 1.5x ssh -R", ratio(b, one["ssh"]), 1.5),
               target_ge("Burrow TLS off, 1 stream >= 0.8x socat chain", ratio(b, one["socat"]), 0.8),
               target_le("Burrow TLS on, CPU per GiB (1 stream) <= 0.7x ssh -R",
                         ratio(tput["burrow_tls"]["P1"]["cpu_s_per_gib"],
                               tput["ssh"]["P1"]["cpu_s_per_gib"]), 0.7)]
    if "base_plain" in tput:
        # The build under test against the baseline, for 1 and 8 streams: the ratio of the
        # medians, and the median of each round's ratio (the two builds' runs of one round are
        # closest in time, so a round's load hits both alike), with those rounds' ratios.
        cmp, paired = [], []
        for mine, base, label in (("burrow_plain", "base_plain", "TLS off"),
                                  ("burrow_tls", "base_tls", "TLS on")):
            for s in ("P1", "P8"):
                name = f"{label} {s[1:]} stream{'s' if s == 'P8' else ''}"
                cmp.append(f"{name}: " + fmt(ratio(tput[mine][s]["gbps"], tput[base][s]["gbps"])) + "x")
                rounds = [ratio(a["gbps"], b["gbps"])
                          for a, b in zip(tput[mine][s]["rounds"], tput[base][s]["rounds"])]
                paired.append(f"{name}: {fmt(median(rounds))}x ({' '.join(fmt(x) for x in rounds)})")
        lines.append("Burrow / baseline build: " + "; ".join(cmp))
        lines.append("")
        lines.append("Burrow / baseline build, median of the rounds' ratios (each round's): " +
                     "; ".join(paired))
        lines.append("")
    return lines, tput, targets


def _cpu_lines(tput, paths):
    """CPU seconds per GiB moved: user + system time of the path's own processes (and their
    descendants: sshd's session processes) over each iperf3 run, by the bytes it moved."""
    def cpu(key, s):
        return tput[key][s].get("cpu_s_per_gib")
    carried = [(k, label) for k, label in paths if k != "direct"]
    lines = ["CPU seconds per GiB moved (the tunnel's own processes, user + system, median of the "
             "rounds; iperf3 itself not counted):", "",
             "| path | 1 stream | 8 streams | 1 stream vs ssh -R | 8 streams vs ssh -R |",
             "|---|---:|---:|---:|---:|"]
    for key, label in carried:
        lines.append(f"| {label} | {fmt(cpu(key, 'P1'), 3)} | {fmt(cpu(key, 'P8'), 3)} | "
                     f"{fmt_ratio(ratio(cpu(key, 'P1'), cpu('ssh', 'P1')))} | "
                     f"{fmt_ratio(ratio(cpu(key, 'P8'), cpu('ssh', 'P8')))} |")
    lines.append("")
    lines.append("CPU s per GiB, 1 stream, per round: " + "; ".join(
        f"{label}: " + " ".join(fmt(d.get("cpu_s_per_gib"), 3) for d in tput[key]["P1"]["rounds"])
        for key, label in carried))
    lines.append("")
    return lines
