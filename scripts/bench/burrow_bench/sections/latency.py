"""latency: 1-byte ping-pong round trips (p50, p99) direct, through a two-hop socat chain,
`ssh -R`, and Burrow with TLS off and on (and the baseline build's, with BURROW_BASELINE_BIN),
with the thread wake-ups (voluntary context switches) each tunnel's processes made per round
trip: a wake-up costs tens of µs here, so their count decides the latency."""
import json

from ..console import log
from ..peers import burrow, chain, pingpong, socat, ssh
from ..report import fmt, fmt_ratio, median, ratio
from ..report import verdict_le
from ..waits import free_ports

RESULT_KEY = "latency"
TOOLS = ["socat", "ssh", "ssh-keygen", ssh.SSHD]

PATHS = [
    ("direct", "direct"),
    ("socat", "socat 2-hop chain"),
    ("ssh", "ssh -R"),
    ("burrow_plain", "Burrow tcp, TLS off"),
    ("burrow_tls", "Burrow tcp, TLS on"),
]
BASELINE_PATHS = [("base_plain", "Burrow tcp, TLS off, baseline build"),
                  ("base_tls", "Burrow tcp, TLS on, baseline build")]
COUNT = 3000    # timed round trips per path and round
WARMUP = 300


def budget(s):
    paths = len(PATHS) + (len(BASELINE_PATHS) if s.baseline_bin else 0)
    return s.rounds * paths * 10 + 90


def _path(run, key):
    return run.tmp / f"latency-{key}.json"


def run(r):
    s = r.settings
    echo_port = free_ports(1)[0]
    echo = pingpong.start_echo(r, echo_port)
    socat_chain = socat.start_chain(r, echo_port)
    fwd = ssh.start(r, "lat", echo_port)
    plain = burrow.start_tcp(r, "latplain", False, "echo", echo_port)
    tls = burrow.start_tcp(r, "lattls", True, "echo", echo_port)
    bases = []
    if s.baseline_bin:
        bases = [burrow.start_tcp(r, "latplainbase", False, "echo", echo_port, baseline=True),
                 burrow.start_tcp(r, "lattlsbase", True, "echo", echo_port, baseline=True)]
    # Each path with the processes that carry it (their wake-ups are counted).
    paths = [("direct", echo_port, []),
             ("socat", socat_chain.port, [p.pid for p in socat_chain.procs]),
             ("ssh", fwd.port, [fwd.proc.pid, fwd.sshd.proc.pid]),
             ("burrow_plain", plain.remote_port, [plain.client.pid, plain.server.proc.pid]),
             ("burrow_tls", tls.remote_port, [tls.client.pid, tls.server.proc.pid])]
    paths += [(key, pair.remote_port, [pair.client.pid, pair.server.proc.pid])
              for (key, _), pair in zip(BASELINE_PATHS, bases)]

    results = {key: {"rounds": []} for key, _, _ in paths}
    for rnd in range(1, s.rounds + 1):
        for key, port, pids in paths:
            log(f"round {rnd}: ping-pong {key} ({COUNT} round trips) via port {port}")
            times, wakeups = pingpong.measure(port, COUNT, WARMUP, pids)
            results[key]["rounds"].append({
                "p50_us": pingpong.percentile(times, 50), "p99_us": pingpong.percentile(times, 99),
                "wakeups_per_rtt": wakeups})
    for key in results:
        _path(r, key).write_text(json.dumps(results[key]))

    for pair in bases:
        burrow.stop_pair(r, pair)
    chain.stop(r, socat_chain)
    ssh.stop(r, fwd)
    burrow.stop_pair(r, plain, "TLS off")
    burrow.stop_pair(r, tls, "TLS on")
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
