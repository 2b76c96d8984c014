"""wrk: bounded runs through one HTTP path, and what its --latency output says."""
import os
import re
import time

from ..console import log

MODES = [("ka", "keep-alive"), ("close", "Connection: close")]

_UNIT_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def result_path(run, key, mode, rnd):
    return run.tmp / f"wrk-{key}-{mode}-r{rnd}.txt"


def measure(run, key, port, rnd, mode, seconds, domain):
    """One wrk -t2 -c50 run of seconds through 127.0.0.1:port (mode ka or close), into
    wrk-KEY-MODE-r<rnd>.txt; a failure is logged (the report shows it), not fatal."""
    args = ["-t2", "-c50", f"-d{seconds}s", "--latency", "-H", f"Host: {domain}"]
    if mode == "close":
        args += ["-H", "Connection: close"]
    out = result_path(run, key, mode, rnd)
    err = out.with_suffix(".err")
    label = "Connection: close" if mode == "close" else "keep-alive"
    log(f"round {rnd}: wrk {key} ({label}, {seconds}s) via port {port}")
    rc = run.procs.run_bounded(seconds + 30, ["wrk", *args, f"http://127.0.0.1:{port}/1k.bin"], out, err)
    if rc != 0:
        log(f"wrk {key} {mode} failed (rc {rc}): {err.read_text(errors='replace')[:300]}")
    time.sleep(0.5)


def time_ms(text):
    """'782.00us' / '1.81ms' / '2.00s' / '1.00m' -> milliseconds."""
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        raise ValueError(f"unknown wrk time '{text}'")
    return float(m.group(1)) * _UNIT_MS[m.group(2)]


def parse(path):
    """Parse `wrk --latency` output: requests/s, p50/p75/p90/p99 (ms), counts, errors."""
    d = {"rps": None, "p50_ms": None, "p99_ms": None, "requests": None,
         "non2xx": 0, "socket_errors": {"connect": 0, "read": 0, "write": 0, "timeout": 0}}
    try:
        with open(path) as f:
            txt = f.read()
    except OSError as e:
        d["error"] = f"missing result: {e}"
        return d
    m = re.search(r"^Requests/sec:\s+([0-9.]+)", txt, re.M)
    if not m:
        err = ""
        try:
            with open(os.path.splitext(path)[0] + ".err") as f:
                err = f.read().strip()
        except OSError:
            pass
        d["error"] = "no Requests/sec in wrk output: " + (err or txt.strip())[:200]
        return d
    d["rps"] = float(m.group(1))
    dist = txt.split("Latency Distribution", 1)
    if len(dist) == 2:
        for pct, val in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", dist[1], re.M):
            try:
                d[f"p{pct}_ms"] = time_ms(val)
            except ValueError as e:
                d["error"] = str(e)
    if d["p99_ms"] is None:
        d.setdefault("error", "no latency distribution (run wrk with --latency)")
    m = re.search(r"^\s*(\d+) requests in ([0-9.]+\w+), ([0-9.]+\w+) read", txt, re.M)
    if m:
        d["requests"] = int(m.group(1))
        d["duration_ms"] = time_ms(m.group(2))
        d["read"] = m.group(3)
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", txt)
    if m:
        d["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups())))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", txt)
    if m:
        d["non2xx"] = int(m.group(1))
    return d
