"""mem: RSS and threads of burrow-server and burrow-client (TLS off) idle, with BENCH_CONNS idle
connections open through them, and after those closed. With BURROW_BASELINE_BIN the baseline
build is measured the same way, the two alternating for BENCH_ROUNDS rounds (a fresh pair each
time), and the medians of the per-connection figures are compared."""
import resource
import sys
import time

from ..console import log
from ..errors import BenchError
from ..peers import burrow, holder
from ..report import fmt, load_json, median, write_json
from ..waits import wait_file

RESULT_KEY = "memory"
TOOLS = []


def budget(s):
    return 150 * s.rounds * (2 if s.baseline_bin else 1)


def check(s):
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft != resource.RLIM_INFINITY and soft < 2 * s.conns + 200:
        raise BenchError(f"fd limit {soft} too low for {s.conns} connections")


def proc_status(pid):
    out = {"pid": int(pid), "rss_kib": None, "threads": None}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    out["rss_kib"] = int(line.split()[1])
                elif line.startswith("Threads:"):
                    out["threads"] = int(line.split()[1])
    except OSError as e:
        out["error"] = str(e)
    return out


def _sampler(pair):
    def sample():
        res = {"server": proc_status(pair.server.proc.pid), "client": proc_status(pair.client.pid)}
        res["time"] = time.time()
        return res
    return sample


def _shown(sample):
    return " | ".join(f"{name} VmRSS: {s['rss_kib']} Threads: {s['threads']}"
                      for name, s in sample.items() if name != "time")


def run(r):
    s = r.settings
    port_file, count_file = r.tmp / "holder.port", r.tmp / "holder.count"
    hold = r.procs.start("holder", [sys.executable, holder.__file__, port_file, count_file])
    wait_file(port_file, 10, "holder did not start")
    rounds = s.rounds if s.baseline_bin else 1
    for i in range(rounds):
        for baseline in ([False, True] if s.baseline_bin else [False]):
            # The first round of the build under test keeps the report's file names.
            name = ("membase" if baseline else "mem") + (str(i) if i or baseline else "")
            _measure(r, name, baseline, int(port_file.read_text()), count_file)
    r.procs.stop(hold)


def _measure(r, name, baseline, hold_port, count_file):
    s = r.settings
    log(f"memory ({name}): fresh Burrow pair (TLS off{', baseline build' if baseline else ''}), "
        f"holder service, {s.conns} connections")
    pair = burrow.start_tcp(r, name, False, "hold", hold_port, baseline=baseline)
    sample = _sampler(pair)
    time.sleep(1)   # settle some more before the idle sample
    idle = sample()
    write_json(r.tmp / f"{name}-idle.json", idle)
    log(f"idle: {_shown(idle)}")
    res, socks, err = holder.open_conns(pair.remote_port, s.conns, count_file, 75, sample)
    write_json(r.tmp / f"{name}-conns.json", res)
    for sock in socks:
        sock.close()
    if err:
        log(f"open: {err}")
        log(f"memory: opening {s.conns} connections failed (see report)")
    # The opener closed its sockets: the closes must reach the local service.
    deadline = time.monotonic() + 15
    while holder.read_count(count_file) != 0 and time.monotonic() <= deadline:
        time.sleep(0.1)
    held = holder.read_count(count_file)
    if held != 0:
        r.note(f"memory test: {held if held >= 0 else '?'} of {s.conns} connections still open at "
               "the local service 15 s after the user side closed them")
    after = sample()
    log(f"after close: {_shown(after)}")
    write_json(r.tmp / f"{name}-after.json", after)
    burrow.stop_pair(r, pair, "memory test")


def _per_conn(work, name):
    """Server+client KiB per connection of one measurement, or None."""
    idle, busy = load_json(work / f"{name}-idle.json"), load_json(work / f"{name}-conns.json")
    try:
        n = busy["connections"]
        return ((busy["server"]["rss_kib"] + busy["client"]["rss_kib"])
                - (idle["server"]["rss_kib"] + idle["client"]["rss_kib"])) / n
    except (KeyError, TypeError, ZeroDivisionError):
        return None


def report(work, meta):
    idle = load_json(work / "mem-idle.json")
    busy = load_json(work / "mem-conns.json")
    after = load_json(work / "mem-after.json")
    mem = {"idle": idle, "loaded": busy, "after_close": after}
    nconn = (busy or {}).get("connections", meta.get("connections", 1000))
    lines = [f"### Memory (Burrow TLS off, VmRSS KiB / threads; {nconn} idle connections)", "",
             "| state | server KiB | client KiB | server threads | client threads |",
             "|---|---:|---:|---:|---:|"]

    def row(label, s):
        if not s:
            return f"| {label} | n/a | n/a | n/a | n/a |"
        sv, cl = s.get("server", {}), s.get("client", {})
        return (f"| {label} | {sv.get('rss_kib', 'n/a')} | {cl.get('rss_kib', 'n/a')} | "
                f"{sv.get('threads', 'n/a')} | {cl.get('threads', 'n/a')} |")

    lines.append(row("idle (logged in, proxy up)", idle))
    lines.append(row(f"{nconn} connections open", busy))
    lines.append(row("after they closed", after))
    per_conn = None
    try:
        if busy.get("error"):
            raise ValueError(busy["error"])
        per_conn = ((busy["server"]["rss_kib"] + busy["client"]["rss_kib"])
                    - (idle["server"]["rss_kib"] + idle["client"]["rss_kib"])) / nconn
    except Exception as e:  # noqa: BLE001 - report whatever went wrong
        lines.append(f"\n- memory test incomplete: {e}")
    mem["per_connection_kib"] = per_conn
    lines += ["", f"Per-connection KiB (server+client): {fmt(per_conn, 1)}", ""]
    ours = [_per_conn(work, "mem" + (str(i) if i else "")) for i in range(meta.get("rounds", 1))]
    base = [_per_conn(work, f"membase{i}") for i in range(meta.get("rounds", 1))]
    ours, base = [v for v in ours if v is not None], [v for v in base if v is not None]
    if base:
        mem["per_connection_kib_rounds"], mem["baseline_per_connection_kib_rounds"] = ours, base
        lines += ["Per-connection KiB per round: this build " + " ".join(fmt(v, 2) for v in ours) +
                  "; baseline build " + " ".join(fmt(v, 2) for v in base),
                  f"Medians: this build {fmt(median(ours), 2)}, baseline build {fmt(median(base), 2)}: "
                  f"{fmt(median(ours) / median(base), 3)}x", ""]
    verdict = "PASS" if per_conn is not None and per_conn <= 40 else (
        "MISS (no result)" if per_conn is None else "MISS")
    targets = [{"target": "per-connection memory <= 40 KiB (server+client)", "value": per_conn,
                "limit": 40, "unit": "KiB", "verdict": verdict}]
    return lines, mem, targets
