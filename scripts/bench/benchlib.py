#!/usr/bin/env python3
"""Helpers for scripts/bench.sh (Burrow benchmark). Loopback only.

Subcommands:
  freeport [N]                         print N free TCP ports on 127.0.0.1
  sample OUT.json NAME=PID...          write VmRSS (KiB) and Threads of each pid
  hold PORT_FILE COUNT_FILE            accept and hold TCP connections on an
                                       ephemeral 127.0.0.1 port; writes the port to
                                       PORT_FILE and the number of open accepted
                                       connections to COUNT_FILE
  open PORT N COUNT_FILE TIMEOUT OUT.json NAME=PID...
                                       open N connections to 127.0.0.1:PORT (1 byte
                                       each) in batches, wait until COUNT_FILE reports
                                       N, sample the pids, write OUT.json, exit
  report WORKDIR OUTDIR                build the markdown tables and results.json
                                       (sections listed in WORKDIR/meta.json)
  wrk FILE                             print what parse_wrk makes of one wrk output
"""
import asyncio
import json
import os
import re
import socket
import sys
import time


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


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


def sample(pairs):
    res = {}
    for p in pairs:
        name, pid = p.split("=", 1)
        res[name] = proc_status(pid)
    res["time"] = time.time()
    return res


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)


def write_text(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


# ---------------------------------------------------------------- holder
async def hold_main(port_file, count_file):
    state = {"open": 0, "accepted": 0, "dirty": True}

    async def handle(reader, writer):
        state["open"] += 1
        state["accepted"] += 1
        state["dirty"] = True
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            state["open"] -= 1
            state["dirty"] = True
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    write_text(count_file, "0 0\n")
    write_text(port_file, f"{port}\n")
    while True:
        if state["dirty"]:
            state["dirty"] = False
            write_text(count_file, f"{state['open']} {state['accepted']}\n")
        await asyncio.sleep(0.05)


def read_count(count_file):
    try:
        with open(count_file) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return -1


# ---------------------------------------------------------------- opener
def open_main(port, n, count_file, timeout, out, pairs):
    deadline = time.monotonic() + timeout
    base = read_count(count_file)
    socks = []
    batch = 50
    t0 = time.monotonic()
    err = None
    try:
        while len(socks) < n:
            for _ in range(min(batch, n - len(socks))):
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                s.sendall(b"x")
                socks.append(s)
            # Let the tunnel catch up before opening the next batch, so we never
            # exceed the server's pending-connection limit.
            while read_count(count_file) - base < len(socks):
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"only {read_count(count_file) - base} of {len(socks)} "
                        f"connections reached the local service")
                time.sleep(0.02)
        open_secs = time.monotonic() - t0
        time.sleep(1.0)  # let both processes settle
        # make sure none was dropped meanwhile
        held = read_count(count_file) - base
        res = sample(pairs)
        res.update({"connections": n, "held": held, "open_seconds": round(open_secs, 2)})
    except Exception as e:  # report, don't hang
        err = f"{type(e).__name__}: {e}"
        res = sample(pairs)
        res.update({"connections": n, "held": read_count(count_file) - base,
                    "opened": len(socks), "error": err})
    write_json(out, res)
    for s in socks:
        s.close()
    if err:
        print(f"open: {err}", file=sys.stderr)
        sys.exit(1)


# ---------------------------------------------------------------- report
PATHS = [
    ("direct", "direct iperf3"),
    ("socat", "socat 2-hop chain"),
    ("ssh", "ssh -R"),
    ("burrow_plain", "Burrow tcp, TLS off"),
    ("burrow_tls", "Burrow tcp, TLS on"),
]


def parse_iperf(path):
    """Return (gbps, details) from an iperf3 -J output file."""
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
            "sent_bps": sent.get("bits_per_second"),
            "retransmits": sent.get("retransmits"),
            "seconds": end["sum_received"].get("seconds"),
            "cpu": end.get("cpu_utilization_percent"),
        }
    except (KeyError, TypeError) as e:
        return None, {"error": f"no end.sum_received in iperf3 output ({e})"}


def fmt(x, nd=2):
    return "n/a" if x is None else f"{x:.{nd}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def median(values):
    good = sorted(v for v in values if v is not None)
    if not good:
        return None
    n = len(good)
    return good[n // 2] if n % 2 else (good[n // 2 - 1] + good[n // 2]) / 2


def verdict_ge(v, lim):
    if v is None:
        return "MISS (no result)"
    return "PASS" if v >= lim else "MISS"


def verdict_le(v, lim):
    if v is None:
        return "MISS (no result)"
    return "PASS" if v <= lim else "MISS"


def report_throughput(work, meta, lines, targets):
    rounds = int(meta.get("rounds", 1))
    paths = list(PATHS)
    if os.path.exists(os.path.join(work, "iperf-base_plain-P1-r1.json")):
        paths += [("base_plain", "Burrow tcp, TLS off, baseline build"),
                  ("base_tls", "Burrow tcp, TLS on, baseline build")]
    tput = {}
    for key, _ in paths:
        tput[key] = {}
        for streams in (1, 8):
            # The paths ran interleaved, round after round; the median of the
            # rounds is what counts (this machine is shared and noisy).
            runs = []
            for r in range(1, rounds + 1):
                g, d = parse_iperf(os.path.join(work, f"iperf-{key}-P{streams}-r{r}.json"))
                d["gbps"] = g
                runs.append(d)
            med = median(d["gbps"] for d in runs)
            errors = [d["error"] for d in runs if d.get("error")]
            tput[key][f"P{streams}"] = {"gbps": med, "rounds": runs,
                                        "error": "; ".join(errors) if errors else None}
    one = {k: tput[k]["P1"]["gbps"] for k, _ in paths}

    lines.append(f"### Throughput (iperf3, {meta.get('seconds', '?')} s per run, loopback, "
                 f"median of {rounds} interleaved rounds)")
    lines.append("")
    lines.append("| path | 1 stream Gbit/s | 8 streams Gbit/s | 1-stream ratio vs ssh -R | 1-stream ratio vs socat chain |")
    lines.append("|---|---:|---:|---:|---:|")
    for key, label in paths:
        g1 = tput[key]["P1"]["gbps"]
        g8 = tput[key]["P8"]["gbps"]
        r_ssh = ratio(g1, one["ssh"])
        r_socat = ratio(g1, one["socat"])
        lines.append(f"| {label} | {fmt(g1)} | {fmt(g8)} | "
                     f"{fmt(r_ssh) + 'x' if r_ssh is not None else 'n/a'} | "
                     f"{fmt(r_socat) + 'x' if r_socat is not None else 'n/a'} |")
    lines.append("")
    lines.append("Single-stream Gbit/s per round: " + "; ".join(
        f"{label}: " + " ".join(fmt(d["gbps"]) for d in tput[key]["P1"]["rounds"])
        for key, label in paths))
    errs = [(label, s, tput[k][s]["error"]) for k, label in paths for s in ("P1", "P8")
            if tput[k][s].get("error")]
    for label, s, e in errs:
        lines.append(f"\n- {label} ({s}): iperf3 failed: {e}")
    lines.append("")

    b = one["burrow_plain"]
    r1 = ratio(b, one["ssh"])
    r2 = ratio(b, one["socat"])
    targets.append({"target": "Burrow TLS off, 1 stream >= 1.5x ssh -R", "value": r1,
                    "limit": 1.5, "verdict": verdict_ge(r1, 1.5)})
    targets.append({"target": "Burrow TLS off, 1 stream >= 0.8x socat chain", "value": r2,
                    "limit": 0.8, "verdict": verdict_ge(r2, 0.8)})
    if "base_plain" in tput:
        # The build under test against the baseline, for 1 and 8 streams.
        cmp = []
        for mine, base, label in (("burrow_plain", "base_plain", "TLS off"),
                                  ("burrow_tls", "base_tls", "TLS on")):
            for s in ("P1", "P8"):
                cmp.append(f"{label} {s[1:]} stream{'s' if s == 'P8' else ''}: " + fmt(
                    ratio(tput[mine][s]["gbps"], tput[base][s]["gbps"])) + "x")
        lines.append("Burrow / baseline build: " + "; ".join(cmp))
        lines.append("")
    return tput


def report_memory(work, meta, lines, targets):
    idle = load_json(os.path.join(work, "mem-idle.json"))
    busy = load_json(os.path.join(work, "mem-conns.json"))
    mem = {"idle": idle, "loaded": busy}
    nconn = (busy or {}).get("connections", meta.get("connections", 1000))
    lines.append(f"### Memory (Burrow TLS off, VmRSS KiB / threads; {nconn} idle connections)")
    lines.append("")
    lines.append("| state | server KiB | client KiB | server threads | client threads |")
    lines.append("|---|---:|---:|---:|---:|")

    def row(label, s):
        if not s:
            return f"| {label} | n/a | n/a | n/a | n/a |"
        sv, cl = s.get("server", {}), s.get("client", {})
        return (f"| {label} | {sv.get('rss_kib', 'n/a')} | {cl.get('rss_kib', 'n/a')} | "
                f"{sv.get('threads', 'n/a')} | {cl.get('threads', 'n/a')} |")

    lines.append(row("idle (logged in, proxy up)", idle))
    lines.append(row(f"{nconn} connections open", busy))
    after = load_json(os.path.join(work, "mem-after.json"))
    mem["after_close"] = after
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
    lines.append("")
    lines.append(f"Per-connection KiB (server+client): {fmt(per_conn, 1)}")
    lines.append("")
    pc_ok = per_conn is not None and per_conn <= 40
    targets.append({"target": "per-connection memory <= 40 KiB (server+client)",
                    "value": per_conn, "limit": 40, "unit": "KiB",
                    "verdict": "PASS" if pc_ok else ("MISS (no result)" if per_conn is None else "MISS")})
    return mem


# ---------------------------------------------------------------- http (wrk)
HTTP_PATHS = [
    ("direct", "nginx direct"),
    ("haproxy", "haproxy 2-hop chain"),
    ("ssh", "ssh -R"),
    ("burrow", "Burrow http vhost, TLS off"),
]
HTTP_MODES = [("ka", "keep-alive"), ("close", "Connection: close")]

_UNIT_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def wrk_time_ms(text):
    """'782.00us' / '1.81ms' / '2.00s' / '1.00m' -> milliseconds."""
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        raise ValueError(f"unknown wrk time '{text}'")
    return float(m.group(1)) * _UNIT_MS[m.group(2)]


def parse_wrk(path):
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
                d[f"p{pct}_ms"] = wrk_time_ms(val)
            except ValueError as e:
                d["error"] = str(e)
    if d["p99_ms"] is None:
        d.setdefault("error", "no latency distribution (run wrk with --latency)")
    m = re.search(r"^\s*(\d+) requests in ([0-9.]+\w+), ([0-9.]+\w+) read", txt, re.M)
    if m:
        d["requests"] = int(m.group(1))
        d["duration_ms"] = wrk_time_ms(m.group(2))
        d["read"] = m.group(3)
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", txt)
    if m:
        d["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups())))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", txt)
    if m:
        d["non2xx"] = int(m.group(1))
    return d


def report_http(work, meta, lines, targets):
    rounds = int(meta.get("rounds", 1))
    secs = meta.get("http_seconds", "?")
    paths = list(HTTP_PATHS)
    if os.path.exists(os.path.join(work, "wrk-baseline-ka-r1.txt")):
        paths.append(("baseline", "Burrow http vhost, TLS off, baseline build"))
    http = {}
    for key, _ in paths:
        http[key] = {}
        unavailable = None
        try:
            with open(os.path.join(work, f"http-unavailable-{key}.txt")) as f:
                unavailable = f.read().strip()
        except OSError:
            pass
        for mode, _ in HTTP_MODES:
            runs = [parse_wrk(os.path.join(work, f"wrk-{key}-{mode}-r{r}.txt"))
                    for r in range(1, rounds + 1)]
            if unavailable:
                for d in runs:
                    d["error"] = "not run: " + unavailable
            errors = sorted({d["error"] for d in runs if d.get("error")})
            http[key][mode] = {
                "rps": median(d["rps"] for d in runs),
                "p50_ms": median(d["p50_ms"] for d in runs),
                "p99_ms": median(d["p99_ms"] for d in runs),
                "requests": sum(d["requests"] or 0 for d in runs),
                "non2xx": sum(d["non2xx"] for d in runs),
                "socket_errors": sum(sum(d["socket_errors"].values()) for d in runs),
                "rounds": runs,
                "error": "; ".join(errors) if errors else None,
            }

    lines.append(f"### HTTP (wrk -t2 -c50 --latency, {secs} s per run, 1 KiB file from nginx, "
                 f"loopback, median of {rounds} interleaved rounds)")
    lines.append("")
    lines.append("Connection: close makes every request a new connection, so its req/s is new connections/s.")
    lines.append("")
    lines.append("| path | keep-alive req/s | p50 ms | p99 ms | Connection: close req/s | p50 ms | p99 ms | bad responses / socket errors |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for key, label in paths:
        ka, cl = http[key]["ka"], http[key]["close"]
        bad = f"{ka['non2xx'] + cl['non2xx']} / {ka['socket_errors'] + cl['socket_errors']}"
        lines.append(f"| {label} | {fmt(ka['rps'], 0)} | {fmt(ka['p50_ms'])} | {fmt(ka['p99_ms'])} | "
                     f"{fmt(cl['rps'], 0)} | {fmt(cl['p50_ms'])} | {fmt(cl['p99_ms'])} | {bad} |")
    lines.append("")

    # Burrow against the baselines, per mode. A Burrow run that answered with
    # errors does not count as a pass, however fast it was. The issue sets
    # the targets for keep-alive and asks only to report new connections per
    # second; the Connection: close ratios are shown against the same limits
    # for reference and are not counted among the targets.
    checks = [
        ("req/s: Burrow / ssh -R", ">= 4", 4.0, verdict_ge,
         lambda m: ratio(http["burrow"][m]["rps"], http["ssh"][m]["rps"])),
        ("req/s: Burrow / haproxy 2-hop", ">= 0.5", 0.5, verdict_ge,
         lambda m: ratio(http["burrow"][m]["rps"], http["haproxy"][m]["rps"])),
        ("p99: Burrow / haproxy 2-hop", "<= 2", 2.0, verdict_le,
         lambda m: ratio(http["burrow"][m]["p99_ms"], http["haproxy"][m]["p99_ms"])),
    ]
    if "baseline" in http:
        checks.append(("req/s: Burrow / baseline build", ">= 0.95", 0.95, verdict_ge,
                       lambda m: ratio(http["burrow"][m]["rps"], http["baseline"][m]["rps"])))
        checks.append(("p99: Burrow / baseline build", "<= 1.05", 1.05, verdict_le,
                       lambda m: ratio(http["burrow"][m]["p99_ms"], http["baseline"][m]["p99_ms"])))
    lines.append("| ratio | target | keep-alive | verdict | Connection: close | same limit (reference only) |")
    lines.append("|---|---:|---:|---|---:|---|")
    for name, shown_lim, lim, judge, value in checks:
        cells = []
        for mode, mlabel in HTTP_MODES:
            v = value(mode)
            verdict = judge(v, lim)
            b = http["burrow"][mode]
            if v is not None and (b["non2xx"] or b["socket_errors"]):
                verdict = "MISS (errors)"
            if mode != "ka":
                verdict = {"PASS": "within", "MISS": "outside"}.get(verdict, verdict)
                cells += [f"{fmt(v)}x" if v is not None else "n/a", verdict]
                continue
            cells += [f"{fmt(v)}x" if v is not None else "n/a", f"**{verdict}**"]
            targets.append({"target": f"HTTP {mlabel}, {name} {shown_lim}", "value": v,
                            "limit": lim, "verdict": verdict})
        lines.append(f"| {name} | {shown_lim} | " + " | ".join(cells) + " |")
    lines.append("")
    # The same ratios round by round: each pair ran minutes apart, so these
    # show how far the machine's noise moves them.
    def per_round(num, den, field):
        pairs = zip(http[num]["ka"]["rounds"], http[den]["ka"]["rounds"])
        return " ".join(fmt(ratio(a.get(field), b.get(field))) for a, b in pairs)
    lines.append("keep-alive ratios per round: req/s Burrow / ssh -R: " +
                 per_round("burrow", "ssh", "rps") + "; req/s Burrow / haproxy 2-hop: " +
                 per_round("burrow", "haproxy", "rps") + "; p99 Burrow / haproxy 2-hop: " +
                 per_round("burrow", "haproxy", "p99_ms") +
                 ("; req/s Burrow / baseline build: " + per_round("burrow", "baseline", "rps")
                  if "baseline" in http else ""))
    lines.append("")
    for mode, mlabel in HTTP_MODES:
        lines.append(f"{mlabel} req/s per round: " + "; ".join(
            f"{label}: " + " ".join(fmt(d["rps"], 0) for d in http[key][mode]["rounds"])
            for key, label in paths))
        lines.append("")
    for key, label in HTTP_PATHS:
        for mode, mlabel in HTTP_MODES:
            e = http[key][mode]
            if e["error"]:
                lines.append(f"- {label} ({mlabel}): {e['error']}")
            elif e["non2xx"] or e["socket_errors"]:
                lines.append(f"- {label} ({mlabel}): {e['non2xx']} non-2xx/3xx responses, "
                             f"{e['socket_errors']} socket errors in {e['requests']} requests")
    if lines[-1] != "":
        lines.append("")
    return http


def report_main(work, outdir):
    meta = load_json(os.path.join(work, "meta.json")) or {}
    meta["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    sections = meta.get("sections", ["tcp", "mem"])
    lines, targets = [], []
    result = {"meta": meta}
    if "tcp" in sections:
        result["throughput"] = report_throughput(work, meta, lines, targets)
    if "mem" in sections:
        result["memory"] = report_memory(work, meta, lines, targets)
    if "http" in sections:
        result["http"] = report_http(work, meta, lines, targets)

    lines.append("### Targets")
    lines.append("")
    for t in targets:
        v = t["value"]
        shown = "n/a" if v is None else (f"{v:.1f} KiB" if t.get("unit") == "KiB" else f"{v:.2f}x")
        lines.append(f"- {t['target']}: {shown} -> **{t['verdict']}**")

    text = "\n".join(lines) + "\n"
    print(text, end="")
    result["targets"] = targets
    os.makedirs(outdir, exist_ok=True)
    write_json(os.path.join(outdir, "results.json"), result)
    write_text(os.path.join(outdir, "results.md"), text)


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = argv[1]
    if cmd == "freeport":
        n = int(argv[2]) if len(argv) > 2 else 1
        print(" ".join(map(str, free_ports(n))))
    elif cmd == "sample":
        write_json(argv[2], sample(argv[3:]))
    elif cmd == "hold":
        try:
            asyncio.run(hold_main(argv[2], argv[3]))
        except KeyboardInterrupt:
            pass
    elif cmd == "open":
        open_main(int(argv[2]), int(argv[3]), argv[4], float(argv[5]), argv[6], argv[7:])
    elif cmd == "report":
        report_main(argv[2], argv[3])
    elif cmd == "wrk":
        print(json.dumps(parse_wrk(argv[2]), indent=2))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
