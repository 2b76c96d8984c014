"""iperf3: the server every throughput path ends at, bounded client runs, and their JSON."""
import json
import time

from ..console import log
from .. import procs
from ..report import load_json, median, write_json
from ..waits import wait_listen


def start_server(run, port, name="iperf3"):
    proc = run.procs.start(name, ["iperf3", "-s", "-B", "127.0.0.1", "-p", port])
    wait_listen(port, 10, "iperf3 server did not start")
    return proc


def result_path(run, key, streams, rnd):
    return run.tmp / f"iperf-{key}-P{streams}-r{rnd}.json"


def measure(run, key, port, rnd, streams, seconds, omit=0, pids=()):
    """One iperf3 run of seconds through 127.0.0.1:port (after omit seconds that do not count),
    into iperf-KEY-P<streams>-r<rnd>.json; a failure is logged (the report shows it), not fatal.
    With pids (the processes that carry the path), the CPU seconds they and their descendants
    spent during the run go into cpu-KEY-P<streams>-r<rnd>.json."""
    out = result_path(run, key, streams, rnd)
    err = out.with_suffix(".err")
    shown = f"{omit}s omitted + {seconds}s" if omit else f"{seconds}s"
    log(f"round {rnd}: iperf3 {key} -P {streams} ({shown}) via port {port}")
    cpu_before = procs.cpu_seconds(pids)
    rc = run.procs.run_bounded(seconds + omit + 25, [
        "iperf3", "-c", "127.0.0.1", "-p", port, "-t", seconds, "-P", streams, "-J",
        "--connect-timeout", "5000"] + (["-O", omit] if omit else []), out, err)
    if pids:
        write_json(_cpu_path(out), {"cpu_seconds": procs.cpu_seconds(pids) - cpu_before})
    if rc != 0:
        log(f"iperf3 {key} -P {streams} failed (rc {rc}): {err.read_text(errors='replace')[:300]}")
    time.sleep(0.5)


def _intervals(j, omitted):
    return [round(i["sum"]["bits_per_second"] / 1e9, 3) for i in j.get("intervals", [])
            if "sum" in i and bool(i["sum"].get("omitted")) == omitted]


def parse(path):
    """(Gbit/s received, details) from an iperf3 -J output file; (None, {"error": ...}) when it
    holds no result."""
    try:
        with open(path) as f:
            txt = f.read()
    except OSError as e:
        return None, {"error": f"missing result: {e}"}
    try:
        j = json.loads(txt)
    except ValueError:
        return None, {"error": "unparsable iperf3 output: " + txt.strip()[:200]}
    if "error" in j:
        return None, {"error": j["error"]}
    try:
        end = j["end"]
        recv = end["sum_received"]["bits_per_second"]
        sent = end["sum_sent"]
        return recv / 1e9, {
            "received_bps": recv,
            "received_bytes": end["sum_received"].get("bytes"),
            "sent_bps": sent.get("bits_per_second"),
            "retransmits": sent.get("retransmits"),
            "seconds": end["sum_received"].get("seconds"),
            "cpu": end.get("cpu_utilization_percent"),
            # Per second, sender side: whether flow-control windows had opened.
            "omitted_gbps": _intervals(j, omitted=True),
            "intervals_gbps": _intervals(j, omitted=False),
        }
    except (KeyError, TypeError) as e:
        return None, {"error": f"no end.sum_received in iperf3 output ({e})"}


def summarize(work, key, streams, rounds):
    """The median of one path's rounds (the paths ran interleaved, round after round; on a
    shared, noisy machine the median is what counts), with every round's details."""
    runs = []
    for r in range(1, rounds + 1):
        path = work / f"iperf-{key}-P{streams}-r{r}.json"
        g, d = parse(path)
        d["gbps"] = g
        cpu = (load_json(_cpu_path(path)) or {}).get("cpu_seconds")
        if cpu is not None and d.get("received_bytes"):
            d["cpu_seconds"] = cpu
            d["cpu_s_per_gib"] = cpu / (d["received_bytes"] / (1 << 30))
        runs.append(d)
    errors = [d["error"] for d in runs if d.get("error")]
    per_gib = [d["cpu_s_per_gib"] for d in runs if "cpu_s_per_gib" in d]
    return {"gbps": median(d["gbps"] for d in runs), "rounds": runs,
            "cpu_s_per_gib": median(per_gib) if per_gib else None,
            "error": "; ".join(errors) if errors else None}


def _cpu_path(result):
    return result.with_name(result.name.replace("iperf-", "cpu-", 1))
