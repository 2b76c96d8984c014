"""grpcapi (only with BENCH_ONLY): gRPC alone, no Burrow: a 1-byte ping-pong on one bidirectional
stream over loopback with the callback API (what Burrow's carriers use) against the
completion-queue API driven by the program's own threads (scripts/bench/tools/
grpc_api_pingpong.cpp, built here). It measures what the carrier's API costs per round trip, in
time, wake-ups and CPU, for issue 15's latency target."""
import json
import subprocess

from ..errors import BenchError, PeerFailed
from ..report import fmt, fmt_ratio, median, ratio
from ..rounds import in_order
from ..waits import wait_log

RESULT_KEY = "grpcapi"
TOOLS = ["c++", "pkg-config"]
APIS = (("callback", "callback API (Burrow's carriers today)"),
        ("queue", "completion queue, one thread of the program's"),
        ("queue2", "completion queue, two threads on the echo side"))
COUNT = 3000
FIELDS = ("p50_us", "p99_us", "wakeups_server", "wakeups_client", "cpu_us_server", "cpu_us_client")


def budget(s):
    return 60 + s.rounds * len(APIS) * 30


def _build(r):
    src = r.settings.repo / "scripts/bench/tools/grpc_api_pingpong.cpp"
    exe = r.tmp / "grpc_api_pingpong"
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "grpc++"], capture_output=True,
                           text=True)
    if flags.returncode != 0:
        raise BenchError(f"pkg-config grpc++: {flags.stderr.strip()}")
    built = subprocess.run(["c++", "-std=c++20", "-O2", str(src), "-o", str(exe),
                            *flags.stdout.split()], capture_output=True, text=True, timeout=300)
    if built.returncode != 0:
        raise BenchError(f"building {src.name} failed:\n{built.stderr[-2000:]}")
    return exe


def _one(r, exe, api):
    server = r.procs.start(f"grpcapi-{api}", [exe, "serve", api])
    try:
        port = int(wait_log(server, r"(?m)^(\d+)$", 10, f"grpc_api_pingpong serve {api} printed no port")
                   .group(1))
        out = r.tmp / f"grpcapi-{api}.out"
        rc = r.procs.run_bounded(120, [exe, "ping", api, port, COUNT, server.pid], out,
                                 r.tmp / f"grpcapi-{api}-ping.log")
        if rc != 0:
            raise PeerFailed(f"grpc_api_pingpong ping {api} exited {rc}")
        return json.loads(out.read_text())
    finally:
        r.procs.stop(server)


def run(r):
    exe = _build(r)
    results = {api: [] for api, _ in APIS}
    for rnd in range(1, r.settings.rounds + 1):
        for api, _ in in_order(APIS, rnd):
            results[api].append(_one(r, exe, api))
    (r.tmp / "grpcapi.json").write_text(json.dumps(results))


def report(work, meta):
    try:
        rounds = json.loads((work / "grpcapi.json").read_text())
    except (OSError, ValueError):
        rounds = {}
    got = {api: {f: median([x[f] for x in rounds[api]]) for f in FIELDS}
           for api, _ in APIS if rounds.get(api)}
    lines = [f"### gRPC alone: callback API against a completion queue ({COUNT} 1-byte round trips "
             f"on one stream, loopback, median of {meta.get('rounds', '?')} interleaved rounds)", "",
             "| API | p50 µs | p99 µs | p50 vs callback | wake-ups per round trip, echo / pinging "
             "side | CPU µs per round trip, echo / pinging side |",
             "|---|---:|---:|---:|---:|---:|"]
    for api, label in APIS:
        if api not in got:
            lines.append(f"| {label} | n/a | n/a | n/a | n/a | n/a |")
            continue
        g = got[api]
        base = got.get("callback", {}).get("p50_us")
        lines.append(f"| {label} | {fmt(g['p50_us'], 1)} | {fmt(g['p99_us'], 1)} | "
                     f"{fmt_ratio(ratio(g['p50_us'], base))} | {fmt(g['wakeups_server'])} / "
                     f"{fmt(g['wakeups_client'])} | {fmt(g['cpu_us_server'], 1)} / "
                     f"{fmt(g['cpu_us_client'], 1)} |")
    lines += ["", "Wake-ups: voluntary context switches of all of a process's threads. CPU: user + "
              "system time from /proc (10 ms ticks over the whole run).", ""]
    lines.append("p50 µs per round: " + "; ".join(
        f"{api}: " + " ".join(fmt(x["p50_us"], 1) for x in rounds[api])
        for api, _ in APIS if rounds.get(api)))
    lines.append("")
    return lines, {"rounds": rounds, "medians": got}, []
