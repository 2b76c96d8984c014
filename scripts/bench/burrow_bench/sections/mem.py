"""mem: RSS and threads of burrow-server and burrow-client (TLS off) idle, with BENCH_CONNS idle
connections open through them, and after those closed."""
import resource
import sys
import time

from ..console import log
from ..errors import BenchError
from ..peers import burrow, holder
from ..report import fmt, load_json, write_json
from ..waits import wait_file

RESULT_KEY = "memory"
TOOLS = []


def budget(s):
    return 150


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
    log(f"memory: fresh Burrow pair (TLS off), holder service, {s.conns} connections")
    port_file, count_file = r.tmp / "holder.port", r.tmp / "holder.count"
    hold = r.procs.start("holder", [sys.executable, holder.__file__, port_file, count_file])
    wait_file(port_file, 10, "holder did not start")
    pair = burrow.start_tcp(r, "mem", False, "hold", int(port_file.read_text()))
    sample = _sampler(pair)
    time.sleep(1)   # settle some more before the idle sample
    idle = sample()
    write_json(r.tmp / "mem-idle.json", idle)
    log(f"idle: {_shown(idle)}")
    res, socks, err = holder.open_conns(pair.remote_port, s.conns, count_file, 75, sample)
    write_json(r.tmp / "mem-conns.json", res)
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
    write_json(r.tmp / "mem-after.json", after)
    burrow.stop_pair(r, pair, "memory test")
    r.procs.stop(hold)


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
    verdict = "PASS" if per_conn is not None and per_conn <= 40 else (
        "MISS (no result)" if per_conn is None else "MISS")
    targets = [{"target": "per-connection memory <= 40 KiB (server+client)", "value": per_conn,
                "limit": 40, "unit": "KiB", "verdict": verdict}]
    return lines, mem, targets
