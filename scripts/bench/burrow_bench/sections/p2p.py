"""p2p: the direct path between a visitor and its home client (punched UDP, QUIC on it), on
loopback: no NAT, no loss, next to no delay, so every figure is an upper bound of what the NAT
lab or a real network gives. Each round starts its own server (TLS on, its rendezvous on any
free UDP pair), a home client with a secret proxy (p2p = true) to an iperf3 server, and a laptop
client with two visitors of it: one with p2p = true, one with p2p = false (the relay, through the
server). The round makes the first connection to the p2p visitor (it starts the punch and goes
over the relay itself), then times how long until the laptop's `burrow-client status --json`
lists the direct path "up" and its log says "QUIC connection up". Then iperf3 single stream
through the relay visitor, through the p2p visitor (upload) and through it with -R (download).
Each run's connections are checked in the laptop's log ("relayed" or "direct (p2p)"): a run any
of whose connections took the other path is marked invalid and left out of the medians. The
CPU each Burrow process used during each run (from /proc) goes beside the figures."""
import json
import os
import re
import socket
import subprocess
import time

from ..console import log
from ..peers import burrow, iperf
from ..report import fmt, fmt_ratio, load_json, median, ratio, verdict_ge, verdict_le, write_json
from ..waits import free_ports

RESULT_KEY = "p2p"
TOOLS = ["iperf3"]
SECRET = "bench-secret-key"
READY_SECONDS = 15      # the punch gives up after 5 s (punch_timeout); QUIC comes after it
TICK = os.sysconf("SC_CLK_TCK")

# (key suffix, label, visitor, path its connections must take, iperf3 -R); a run's key is
# <section prefix>_<suffix> ("p2p_relay"); the NAT lab (natlab.py) adds RELAY_REV.
RUNS = [
    ("relay", "visitor over the relay (p2p = false), upload", "vrelay", "relayed", False),
    ("direct", "visitor direct (QUIC), upload", "vdirect", "direct (p2p)", False),
    ("direct_rev", "visitor direct (QUIC), download (-R)", "vdirect", "direct (p2p)", True),
]
RELAY_REV = ("relay_rev", "visitor over the relay (p2p = false), download (-R)", "vrelay",
             "relayed", True)
ROLES = ("home", "laptop", "server")
CONNECTED = r"\[{}/[0-9]+\] connected to .*, (relayed|direct \(p2p\))$"


def paths(prefix, runs=RUNS):
    """(key, label, visitor, path, -R) of each run, keys named for the section (prefix)."""
    return [(f"{prefix}_{suffix}", *rest) for suffix, *rest in runs]


def budget(s, runs=RUNS):
    return s.rounds * (len(runs) * (s.seconds + 3) + READY_SECONDS + 20) + 60


def _status(cli_bin, config):
    """The laptop's `burrow-client status --json`, parsed ({} when it gives none)."""
    try:
        p = subprocess.run([str(cli_bin), "status", "-c", str(config), "--json"],
                           capture_output=True, text=True, timeout=5)
        return json.loads(p.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return {}


def _path_state(status):
    """The p2p visitor's direct path state ("" when none is listed yet)."""
    for path in status.get("direct_paths") or []:
        if path.get("name") == "vdirect":
            return path.get("state", "")
    return ""


def _log_has(proc, regex):
    try:
        with open(proc.log_path, errors="replace") as f:
            return re.search(regex, f.read(), re.M) is not None
    except OSError:
        return False


def _connections(proc, visitor):
    """The paths the visitor's connections took so far, from its client's log, in order."""
    try:
        with open(proc.log_path, errors="replace") as f:
            return re.findall(CONNECTED.format(visitor), f.read(), re.M)
    except OSError:
        return []


def _cpu_ticks(proc):
    """utime + stime of proc, all its threads (None once it is gone)."""
    try:
        with open(f"/proc/{proc.pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def _log_times(proc):
    """From the laptop's log timestamps (ms apart): the punch's start (the first connection) ->
    direct path up, and -> QUIC connection up; None where a line is missing."""
    stamps = {}
    try:
        with open(proc.log_path, errors="replace") as f:
            for line in f:
                for what, mark in (("try", "[vdirect] trying a direct path"),
                                   ("up", "[vdirect] direct path up:"),
                                   ("quic", "[vdirect] QUIC connection up (visitor)")):
                    m = re.match(r"[0-9-]+ ([0-9]+):([0-9]+):([0-9.]+) ", line)
                    if mark in line and m and what not in stamps:
                        h, mi, sec = m.groups()
                        stamps[what] = (int(h) * 60 + int(mi)) * 60 + float(sec)
    except OSError:
        pass

    def since(what):
        if "try" not in stamps or what not in stamps:
            return None
        return round((stamps[what] - stamps["try"]) * 1000)
    return {"log_up_ms": since("up"), "log_quic_ms": since("quic")}


def connect_local(port):
    """A connection to a visitor's port on this machine's loopback."""
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def _time_direct(r, v, connect):
    """Make the first connection to the p2p visitor (connect(port): it starts the punch and is
    relayed) and,
    while it is open, poll until the laptop's status lists the direct path "up" and its log says
    QUIC is up: the times (ms from the connect) at which each was first seen, and both; then
    close it. Each poll runs `burrow-client status`, so these are upper bounds; the laptop's log
    timestamps give the same steps without the polling (log_*_ms)."""
    cli_bin = r.binaries()[1]
    quic = r"\[vdirect\] QUIC connection up \(visitor\)"
    res = {"up_ms": None, "quic_ms": None, "ready_ms": None, "state": "", "error": None}
    t0 = time.monotonic()
    with connect(v.direct_port):
        deadline = t0 + READY_SECONDS
        while True:
            state = _path_state(_status(cli_bin, v.laptop_config))
            quic_up = _log_has(v.laptop, quic)
            now_ms = round((time.monotonic() - t0) * 1000)
            res["state"] = state
            if state == "up" and res["up_ms"] is None:
                res["up_ms"] = now_ms
            if quic_up and res["quic_ms"] is None:
                res["quic_ms"] = now_ms
            if state == "up" and quic_up:
                res["ready_ms"] = now_ms
                break
            if state == "failed":
                res["error"] = "the direct path failed (status --json: state failed)"
                break
            if time.monotonic() > deadline:
                res["error"] = (f"no direct path with QUIC up within {READY_SECONDS} s (state "
                                f"'{state or 'none listed'}', QUIC up in the log: {quic_up})")
                break
            time.sleep(0.01)
    res.update(_log_times(v.laptop))
    res["first_connection"] = _connections(v.laptop, "vdirect")[:1]
    return res


def _await_idle(r, v):
    """Until the laptop lists no open session (the last run's connections have closed through
    the tunnel), within 10 s."""
    cli_bin = r.binaries()[1]
    deadline = time.monotonic() + 10
    while _status(cli_bin, v.laptop_config).get("sessions"):
        if time.monotonic() > deadline:
            log("sessions still open on the laptop 10 s after the iperf3 run")
            return
        time.sleep(0.05)


def _measure(r, v, key, visitor, want, reverse, rnd, wrap):
    """One iperf3 single-stream run through the visitor's port (wrap: what runs iperf3 where the
    visitor listens, [] on this machine), into the file iperf.summarize names; which path its
    connections took (the laptop's log) and the CPU each Burrow process used meanwhile. A failure
    is logged (the report shows it), not fatal."""
    seconds = r.settings.seconds
    port = v.direct_port if visitor == "vdirect" else v.relay_port
    procs = {"home": v.home, "laptop": v.laptop, "server": v.server.proc}
    out = iperf.result_path(r, key, 1, rnd)
    err = out.with_suffix(".err")
    log(f"round {rnd}: iperf3 {key} -P 1{' -R' if reverse else ''} ({seconds}s) via port {port}")
    seen = len(_connections(v.laptop, visitor))
    ticks0 = {role: _cpu_ticks(p) for role, p in procs.items()}
    t0 = time.monotonic()
    rc = r.procs.run_bounded(seconds + 25, list(wrap) + [
        "iperf3", "-c", "127.0.0.1", "-p", port, "-t", seconds, "-P", 1, "-J",
        "--connect-timeout", "5000"] + (["-R"] if reverse else []), out, err)
    wall = time.monotonic() - t0
    ticks1 = {role: _cpu_ticks(p) for role, p in procs.items()}
    if rc != 0:
        log(f"iperf3 {key} failed (rc {rc}): {err.read_text(errors='replace')[:300]}")
    _await_idle(r, v)
    went = _connections(v.laptop, visitor)[seen:]
    cpu = {role: (None if ticks0[role] is None or ticks1[role] is None
                  else round((ticks1[role] - ticks0[role]) / TICK / wall * 100))
           for role in procs}
    return {"connections": went, "valid": bool(went) and all(p == want for p in went), "cpu": cpu}


def run_rounds(r, prefix, start_visit, runs=RUNS, wrap=(), connect=connect_local):
    """The section's rounds: each starts a fresh server and clients (start_visit(rnd) ->
    burrow.P2PVisit), times the direct path, makes the runs, stops them; results into
    TMP/<prefix>.json after each round. wrap and connect: how iperf3 and the first connection
    reach the visitor's ports (on this machine: directly)."""
    res = {"rounds": []}
    for rnd in range(1, r.settings.rounds + 1):
        v = start_visit(rnd)
        rd = {"runs": {}}
        try:
            rd.update(_time_direct(r, v, connect))
            log(f"round {rnd}: direct path {rd['state'] or 'not listed'} after "
                f"{rd['ready_ms'] if rd['ready_ms'] is not None else '?'} ms"
                + (f" ({rd['error']})" if rd["error"] else ""))
            _await_idle(r, v)
        except OSError as e:
            rd["error"] = f"the first connection failed: {e}"
        for key, _, visitor, want, reverse in paths(prefix, runs):
            rd["runs"][key] = _measure(r, v, key, visitor, want, reverse, rnd, wrap)
            if not rd["runs"][key]["valid"]:
                log(f"round {rnd}: {key} is invalid: its connections went "
                    f"{rd['runs'][key]['connections'] or 'nowhere'}, not all {want}")
        res["rounds"].append(rd)
        write_json(r.tmp / f"{prefix}.json", res)
        burrow.stop_visit(r, v, f"{prefix} round {rnd}")


def run(r):
    iperf_port = free_ports(1)[0]
    server = iperf.start_server(r, iperf_port)
    run_rounds(r, "p2p", lambda rnd: burrow.start_p2p_visit(r, f"p2p{rnd}", iperf_port, SECRET))
    r.procs.stop(server)


def _relay_of(path, all_paths):
    """The key of the relay run in path's direction (None for a relay run, or without one)."""
    _, _, visitor, _, reverse = path
    return None if visitor == "vrelay" else next(
        (k for k, _, vis, _, rev in all_paths if vis == "vrelay" and rev == reverse), None)


def report_rounds(work, meta, prefix, heading, where, runs=RUNS, targets_on=("direct",)):
    """The tables of a section that run_rounds ran: heading (its first line), where (what the
    targets' names say the figures are from); targets_on: the key suffixes of the runs that
    get a ">= 1 Gbit/s" target."""
    rounds = int(meta.get("rounds", 1))
    all_paths = paths(prefix, runs)
    res = load_json(work / f"{prefix}.json") or {"rounds": []}
    got = res["rounds"] + [{"runs": {}, "error": "no result"}] * (rounds - len(res["rounds"]))
    tput = {}
    for key, *_ in all_paths:
        runs_of = []
        for rnd, rd in enumerate(got, 1):
            g, d = iperf.parse(work / f"iperf-{key}-P1-r{rnd}.json")
            check = rd["runs"].get(key, {})
            d.update(check)
            d["gbps_measured"] = g
            d["gbps"] = g if check.get("valid") else None
            runs_of.append(d)
        tput[key] = {"gbps": median(d["gbps"] for d in runs_of), "rounds": runs_of,
                     "cpu": {role: median(d.get("cpu", {}).get(role) for d in runs_of)
                             for role in ROLES}}
    g = {key: tput[key]["gbps"] for key, *_ in all_paths}
    ready = {f: median(rd.get(f) for rd in got)
             for f in ("up_ms", "quic_ms", "ready_ms", "log_up_ms", "log_quic_ms")}

    def each(field):
        return " ".join(fmt(rd.get(field), 0) for rd in got)
    lines = [f"{heading}; targets: ready within 1 s, QUIC >= 1 Gbit/s single stream; "
             f"median of {rounds} rounds, fresh server and clients each", "",
             "| first connection to the p2p visitor -> | median (ms) | per round (ms) |",
             "|---|---:|---|",
             f"| direct path \"up\" in status --json | {fmt(ready['up_ms'], 0)} | {each('up_ms')} |",
             f"| \"QUIC connection up\" in the visitor's log | {fmt(ready['quic_ms'], 0)} | "
             f"{each('quic_ms')} |",
             f"| both (direct path ready) | {fmt(ready['ready_ms'], 0)} | {each('ready_ms')} |",
             f"| laptop log timestamps: \"direct path up\" | {fmt(ready['log_up_ms'], 0)} | "
             f"{each('log_up_ms')} |",
             f"| laptop log timestamps: \"QUIC connection up\" | {fmt(ready['log_quic_ms'], 0)} | "
             f"{each('log_quic_ms')} |",
             "",
             "(Polled: each poll runs `burrow-client status --json` (about 40 ms), so the first three "
             "rows are upper bounds; the log rows count from the visitor's \"trying a direct path\" "
             "line, logged when it took the first connection.)",
             "",
             f"iperf3 single stream, {meta.get('seconds', '?')} s per run, interleaved:", "",
             "| path | Gbit/s | direct / relay | runs on that path | CPU% home client | "
             "CPU% laptop client | CPU% server |", "|---|---:|---:|---:|---:|---:|---:|"]
    for path in all_paths:
        key, label = path[:2]
        t = tput[key]
        valid = sum(1 for d in t["rounds"] if d.get("valid"))
        base = _relay_of(path, all_paths)
        vs_relay = fmt_ratio(ratio(g[key], g[base])) if base else ""
        lines.append(f"| {label} | {fmt(g[key])} | {vs_relay} | {valid}/{rounds} | " +
                     " | ".join(fmt(t["cpu"][role], 0) for role in ROLES) + " |")
    lines.append("")

    def shown(d):
        if d.get("valid"):
            return fmt(d["gbps"])
        if d.get("gbps_measured") is None:
            return "n/a"
        went = "/".join(sorted(set(d.get("connections") or ["no connection"])))
        return f"invalid ({fmt(d['gbps_measured'])}, {went})"
    lines.append("Gbit/s per round: " + "; ".join(
        f"{label}: " + " ".join(shown(d) for d in tput[key]["rounds"])
        for key, label, *_ in all_paths))
    for path in all_paths:
        base = _relay_of(path, all_paths)
        if base:
            lines.append(f"direct / relay per round{', download (-R)' if path[4] else ''}: " +
                         " ".join(fmt_ratio(ratio(a["gbps"], b["gbps"])) for a, b in
                                  zip(tput[path[0]]["rounds"], tput[base]["rounds"])))
    for rnd, rd in enumerate(got, 1):
        if rd.get("error"):
            lines.append(f"\n- round {rnd}: {rd['error']}")
    for key, label, *_ in all_paths:
        for rnd, d in enumerate(tput[key]["rounds"], 1):
            if d.get("error"):
                lines.append(f"\n- {label}, round {rnd}: iperf3 failed: {d['error']}")
    lines.append("")
    v_ready = None if ready["ready_ms"] is None else ready["ready_ms"] / 1000
    targets = [
        {"target": f"direct path ready <= 1 s after the first connection, {where} "
                   "(shown: median / 1 s)", "value": v_ready, "limit": 1.0,
         "verdict": verdict_le(v_ready, 1.0)}]
    for suffix, label, *_ in runs:
        if suffix in targets_on:
            value = g[f"{prefix}_{suffix}"]
            what = "" if suffix == "direct" else f", {label.split(', ')[-1]}"
            targets.append({"target": f"direct (QUIC) path >= 1 Gbit/s single stream{what}, "
                                      f"{where} (shown: Gbit/s / 1 Gbit/s)",
                            "value": value, "limit": 1.0, "verdict": verdict_ge(value, 1.0)})
    tput["ready"] = {**ready, "rounds": got}
    return lines, tput, targets


def report(work, meta):
    return report_rounds(work, meta, "p2p", "### Direct path (P2P: punched UDP + QUIC), TLS on, "
                         "loopback: upper bounds of the lab figures", "loopback")
