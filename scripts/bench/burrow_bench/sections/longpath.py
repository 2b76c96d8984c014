"""longpath: iperf3, one stream, over a long path: a delay line (delay_relay.py, this kernel has
no netem) between the tunnel's two ends, burrow-client <-> burrow-server (the gRPC connection)
and ssh <-> sshd, at each round trip of BENCH_LONGPATH_RTTS. What it measures is how the
tunnel's flow control copes with the round trip (HTTP/2 windows, the stream core's bound on
unacknowledged bytes; ssh's fixed channel window), so every run lasts long enough for windows
to have opened: BENCH_LONGPATH_OMIT seconds at the start of each do not count, and the report
shows them against the first and second half of the counted seconds.

A visitor runs there too: the delay line sits between the laptop's client and the server (the
home client is near the server), and the session resumes from both ends. The report shows the
replay memory each session held at most (what its sending end keeps until the far end's socket
took it: `replay peak` in its close line)."""
import json
import re

from ..console import log
from ..peers import burrow, delay, iperf, ssh
from ..report import fmt, fmt_ratio, median, ratio, target_ge
from ..rounds import in_order
from ..waits import free_ports

RESULT_KEY = "longpath"
TOOLS = ["iperf3", "ssh", "ssh-keygen", ssh.SSHD]

PATHS = [
    ("relay", "iperf3 through the delay line alone"),
    ("ssh", "ssh -R (ssh through the delay line)"),
    ("plain", "Burrow tcp, TLS off"),
    ("tls", "Burrow tcp, TLS on"),
    ("visit", "Burrow visitor, TLS off"),
    ("visit_tls", "Burrow visitor, TLS on"),
]
BASELINE_PATHS = [("base_plain", "Burrow tcp, TLS off, baseline build"),
                  ("base_tls", "Burrow tcp, TLS on, baseline build"),
                  ("base_visit", "Burrow visitor, TLS off, baseline build"),
                  ("base_visit_tls", "Burrow visitor, TLS on, baseline build")]
SECRET = "bench-longpath-secret"
REPLAY_FILE = "longpath-replay.json"
REPLAY_PEAK = re.compile(rb"closed: in [0-9]+ B, out [0-9]+ B, [0-9.]+ s, replay peak ([0-9]+) B")


def _replay_peak(proc):
    """The most replay memory one session of this process held (bytes), None without the line."""
    try:
        peaks = [int(m.group(1)) for m in REPLAY_PEAK.finditer(proc.log_path.read_bytes())]
    except OSError:
        return None
    return max(peaks) if peaks else None


def budget(s):
    paths = len(PATHS) + (len(BASELINE_PATHS) if s.baseline_bin else 0)
    per_run = s.longpath_omit + s.longpath_seconds + 2
    return s.rounds * len(s.longpath_rtts) * paths * per_run + 60 * len(s.longpath_rtts)


def key(path, rtt):
    return f"lp{rtt}_{path}"


def run(r):
    s = r.settings
    iperf_port = free_ports(1)[0]
    server = iperf.start_server(r, iperf_port, "longpath-iperf3")
    relays, pairs, visits, forwards, ports = [], [], [], [], []

    def via(name, rtt):
        def dial(port):
            proc, relay_port = delay.start(r, name, port, rtt)
            relays.append(proc)
            return relay_port
        return dial

    # A baseline build from before visitors measures its tcp paths only.
    base_visits = bool(s.baseline_bin) and burrow.has_visitors(s.baseline_bin)
    if s.baseline_bin and not base_visits:
        log(f"longpath: the baseline build in {s.baseline_bin} has no visitors: its tcp paths only")
    # Every path at every round trip stays up while they are measured in interleaved rounds.
    for rtt in s.longpath_rtts:
        ports.append((key("relay", rtt), via(f"lp{rtt}-relay-delay", rtt)(iperf_port)))
        fwd = ssh.start(r, f"lp{rtt}", iperf_port, dial=via(f"lp{rtt}-ssh-delay", rtt))
        forwards.append(fwd)
        ports.append((key("ssh", rtt), fwd.port))
        builds = [("", False)] + ([("base_", True)] if s.baseline_bin else [])
        for prefix, baseline in builds:
            for path, tls in (("plain", False), ("tls", True), ("visit", False), ("visit_tls", True)):
                if baseline and "visit" in path and not base_visits:
                    continue
                path = f"{prefix}{path}"
                tag = f"lp{rtt}-{path.replace('_', '')}"
                label = None if baseline else f"long path {rtt} ms, TLS {'on' if tls else 'off'}"
                dial = via(f"{tag}-delay", rtt)
                if "visit" in path:
                    v = burrow.start_visit(r, tag, tls, iperf_port, SECRET, baseline=baseline,
                                           dial=dial, with_tcp=False)
                    visits.append((key(path, rtt), v, label))
                    ports.append((key(path, rtt), v.visit_port))
                else:
                    pair = burrow.start_tcp(r, tag, tls, "iperf", iperf_port, baseline=baseline,
                                            dial=dial)
                    pairs.append((key(path, rtt), pair, label))
                    ports.append((key(path, rtt), pair.remote_port))

    for rnd in range(1, s.rounds + 1):
        for k, port in in_order(ports, rnd):
            iperf.measure(r, k, port, rnd, 1, s.longpath_seconds, s.longpath_omit)

    # iperf3 sends from its client: the sending end is the server's session of a tcp proxy
    # and the laptop's of a visit; their close lines are written by the time they stopped.
    peaks = {}
    for k, pair, label in pairs:
        burrow.stop_pair(r, pair, label)
        peaks[k] = _replay_peak(pair.server.proc)
    for k, v, label in visits:
        burrow.stop_visit(r, v, label)
        peaks[k] = _replay_peak(v.laptop)
    (r.tmp / REPLAY_FILE).write_text(json.dumps(peaks))
    for fwd in forwards:
        ssh.stop(r, fwd)
    for proc in relays:
        r.procs.stop(proc)
    r.procs.stop(server)


def _ramp(runs):
    """Median Gbit/s over the rounds of: the omitted seconds, the first and the second half of
    the counted ones. The windows were open when the halves agree."""
    def mean(v):
        return sum(v) / len(v) if v else None
    parts = ([], [], [])
    for d in runs:
        iv = d.get("intervals_gbps") or []
        half = len(iv) // 2
        for part, values in zip(parts, (d.get("omitted_gbps") or [], iv[:half], iv[half:])):
            part.append(mean(values))
    return [median(p) for p in parts]


def report(work, meta):
    rounds = int(meta.get("rounds", 1))
    rtts = meta.get("longpath_rtts", [50, 100])
    paths = list(PATHS)
    # The baseline build's paths that it ran (one from before visitors has tcp paths only).
    paths += [(p, label) for p, label in BASELINE_PATHS
              if (work / f"iperf-{key(p, rtts[0])}-P1-r1.json").exists()]
    lp = {str(rtt): {p: iperf.summarize(work, key(p, rtt), 1, rounds) for p, _ in paths} for rtt in rtts}

    def g(path, rtt):
        return lp[str(rtt)][path]["gbps"]

    omit = meta.get("longpath_omit", 0)
    lines = [f"### Long path (iperf3 1 stream, {meta.get('longpath_seconds', '?')} s per run after {omit} s "
             "not counted, a delay line between the tunnel's ends: burrow-client <-> burrow-server, "
             f"ssh <-> sshd; median of {rounds} interleaved rounds)", "",
             "| path | " + " | ".join(f"{rtt} ms RTT Gbit/s" for rtt in rtts) + " | " +
             " | ".join(f"ratio vs ssh -R ({rtt} ms)" for rtt in rtts) + " |",
             "|---|" + "---:|" * (2 * len(rtts))]
    for path, label in paths:
        lines.append(f"| {label} | " + " | ".join(fmt(g(path, rtt)) for rtt in rtts) + " | " +
                     " | ".join(fmt_ratio(ratio(g(path, rtt), g("ssh", rtt))) for rtt in rtts) + " |")
    lines.append("")
    lines.append("Gbit/s per round: " + "; ".join(
        f"{label} at {rtt} ms: " + " ".join(fmt(d["gbps"]) for d in lp[str(rtt)][path]["rounds"])
        for rtt in rtts for path, label in paths))
    lines.append("")
    # Whether the windows had opened: a second half above the first means the run was still
    # ramping up, and a longer BENCH_LONGPATH_OMIT would raise its median.
    lines.append(f"Window check, Gbit/s in the {omit} s not counted / the first half / the second half of "
                 "the counted seconds (median of the rounds): " + "; ".join(
                     f"{label} at {rtt} ms: " + " / ".join(fmt(v) for v in _ramp(lp[str(rtt)][path]["rounds"]))
                     for rtt in rtts for path, label in paths if path != "relay"))
    for rtt in rtts:
        for path, label in paths:
            if lp[str(rtt)][path].get("error"):
                lines.append(f"\n- {label} at {rtt} ms: iperf3 failed: {lp[str(rtt)][path]['error']}")
    lines.append("")

    # What the sending end kept for replay: about what is in flight (rate x round trip).
    replay_file = work / REPLAY_FILE
    peaks = json.loads(replay_file.read_text()) if replay_file.exists() else {}
    shown = []
    for rtt in rtts:
        for path, label in paths:
            peak = peaks.get(key(path, rtt))
            if peak is None:
                continue
            bdp = (g(path, rtt) or 0) * 1e9 / 8 * rtt / 1000
            shown.append(f"{label} at {rtt} ms: {peak / 2**20:.1f} MiB"
                         + (f" ({peak / bdp:.1f}x rate x RTT)" if bdp else ""))
    if shown:
        lines.append("Replay memory one session held at most (its sending end; resume_buffer "
                     "bounds it, default 64 MiB): " + "; ".join(shown))
        lines.append("")

    targets = []
    if "base_plain" in lp[str(rtts[0])]:
        cmp = []
        for mine, label in (("plain", "tcp, TLS off"), ("tls", "tcp, TLS on"),
                            ("visit", "visitor, TLS off"), ("visit_tls", "visitor, TLS on")):
            if f"base_{mine}" not in lp[str(rtts[0])]:
                continue
            for rtt in rtts:
                v = ratio(g(mine, rtt), g(f"base_{mine}", rtt))
                cmp.append(f"{label} {rtt} ms: {fmt_ratio(v)}")
                # The session layer's bound on unacknowledged bytes must not lower these.
                targets.append(target_ge(f"Long path {label}, {rtt} ms RTT, 1 stream >= 0.9x "
                                         "baseline build", v, 0.9))
        lines.append("Burrow / baseline build: " + "; ".join(cmp))
        lines.append("")
    return lines, lp, targets
