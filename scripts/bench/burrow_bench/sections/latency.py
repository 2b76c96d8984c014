"""latency: 1-byte ping-pong round trips (p50, p99) direct, through a two-hop socat chain,
`ssh -R`, and Burrow with TLS off and on (and the baseline build's, with BURROW_BASELINE_BIN),
with the thread wake-ups (voluntary context switches) each tunnel's processes made per round
trip: a wake-up costs tens of µs here, so their count decides the latency."""
import json

from ..console import log
from ..peers import pingpong, tcp_paths
from ..report import fmt, fmt_ratio, median, ratio
from ..report import verdict_le
from ..rounds import in_order
from ..waits import free_ports

RESULT_KEY = "latency"
TOOLS = tcp_paths.TOOLS
PATHS = tcp_paths.PATHS
BASELINE_PATHS = tcp_paths.BASELINE_PATHS
COUNT = 3000    # timed round trips per path and round
WARMUP = 300


def budget(s):
    return s.rounds * tcp_paths.count(s) * 10 + 90


def _path(run, key):
    return run.tmp / f"latency-{key}.json"


def run(r):
    s = r.settings
    echo_port = free_ports(1)[0]
    echo = pingpong.start_echo(r, echo_port)
    # Each path with the processes that carry it (their wake-ups are counted).
    paths = tcp_paths.Paths(r, echo_port, "lat", "echo")
    results = {p.key: {"rounds": []} for p in paths.all}
    for rnd in range(1, s.rounds + 1):
        for p in in_order(paths.all, rnd):
            log(f"round {rnd}: ping-pong {p.key} ({COUNT} round trips) via port {p.port}")
            times, wakeups = pingpong.measure(p.port, COUNT, WARMUP, p.pids)
            results[p.key]["rounds"].append({
                "p50_us": pingpong.percentile(times, 50), "p99_us": pingpong.percentile(times, 99),
                "wakeups_per_rtt": wakeups})
    for key in results:
        _path(r, key).write_text(json.dumps(results[key]))
    paths.stop()
    r.procs.stop(echo)


def _summary(work, key):
    try:
        rounds = json.loads((work / f"latency-{key}.json").read_text())["rounds"]
    except (OSError, ValueError, KeyError):
        return None
    return {"rounds": rounds, **{f: median([x[f] for x in rounds])
                                 for f in ("p50_us", "p99_us", "wakeups_per_rtt")}}


def report(work, meta):
    paths = list(PATHS) + [p for p in BASELINE_PATHS if (work / f"latency-{p[0]}.json").exists()]
    res = {key: _summary(work, key) for key, _ in paths}
    got = {key: v for key, v in res.items() if v}

    def cell(key, field, nd=0):
        return fmt(got[key][field], nd) if key in got else "n/a"

    def vs_ssh(key, field):
        if key not in got or "ssh" not in got:
            return None
        return ratio(got[key][field], got["ssh"][field])

    lines = [f"### Round-trip latency (1-byte ping-pong, {COUNT} round trips per path and round, "
             f"loopback, median of {meta.get('rounds', '?')} interleaved rounds)", "",
             "| path | p50 µs | p99 µs | p50 vs ssh -R | p99 vs ssh -R | wake-ups per round trip |",
             "|---|---:|---:|---:|---:|---:|"]
    for key, label in paths:
        lines.append(f"| {label} | {cell(key, 'p50_us')} | {cell(key, 'p99_us')} | "
                     f"{fmt_ratio(vs_ssh(key, 'p50_us'))} | {fmt_ratio(vs_ssh(key, 'p99_us'))} | "
                     f"{cell(key, 'wakeups_per_rtt', 1) if key != 'direct' else '-'} |")
    lines += ["", "Wake-ups: voluntary context switches of the path's own processes (and their "
              "children) per round trip, both directions together.", ""]
    lines.append("p50 µs per round: " + "; ".join(
        f"{label}: " + " ".join(fmt(x["p50_us"], 0) for x in got[key]["rounds"])
        for key, label in paths if key in got))
    if "base_plain" in got:
        lines.append("Burrow / baseline build (p50, p99): " + "; ".join(
            f"{label} {fmt(ratio(got[mine]['p50_us'], got[base]['p50_us']))}x, "
            f"{fmt(ratio(got[mine]['p99_us'], got[base]['p99_us']))}x"
            for mine, base, label in (("burrow_plain", "base_plain", "TLS off"),
                                      ("burrow_tls", "base_tls", "TLS on"))
            if mine in got and base in got))
    lines.append("")
    targets = []
    for field, name in (("p50_us", "p50"), ("p99_us", "p99")):
        v = vs_ssh("burrow_tls", field)
        targets.append({"target": f"Burrow TLS on, round trip {name} <= 1.0x ssh -R", "value": v,
                        "limit": 1.0, "verdict": verdict_le(v, 1.0)})
    return lines, res, targets
