"""The end of a run: the tables (traffic per path, errors by kind, each Burrow process's memory,
descriptors and threads), what Burrow's logs warned about, and the verdict with its reasons."""
import re
from collections import Counter

from .load import LABELS, PATHS

# spdlog's line: date, time, level, logger, message.
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ (\w+)\s+(\S+)\s+(.*)$")
EXPECTED = ("TLS is off: client traffic and logins are not encrypted",)


def mib(kib):
    return "n/a" if kib is None else f"{kib / 1024:.1f}"


def rss_limit_kib(start_kib, s):
    """The RSS a process may have at the end: start + the larger of rss_pct % and rss_mib MiB."""
    return start_kib + max(start_kib * s.rss_pct / 100, s.rss_mib * 1024)


def traffic_table(stats, seconds):
    lines = ["| path | transfers ok | failed | MiB | MiB/s | transfers/s |",
             "|---|---:|---:|---:|---:|---:|"]
    for p in PATHS:
        ps = stats.paths[p]
        lines.append(f"| {LABELS[p]} | {ps.ok} | {ps.failed} | {ps.bytes / 2**20:.1f} | "
                     f"{ps.bytes / 2**20 / seconds:.1f} | {ps.ok / seconds:.1f} |")
    failed = sum(ps.failed for ps in stats.paths.values())
    lines.append(f"| **total** | {stats.conns} | {failed} | {stats.bytes / 2**20:.1f} | "
                 f"{stats.bytes / 2**20 / seconds:.1f} | {stats.conns / seconds:.1f} |")
    return lines


def error_lines(phases):
    rows = [(name, path, kind, n) for name, st in phases for (path, kind), n in st.errors.items()]
    if not rows:
        return ["Errors: none (every transfer's bytes and SHA-256 matched)."]
    lines = ["| phase | path | kind | count |", "|---|---|---|---:|"]
    lines += [f"| {ph} | {LABELS[p]} | {k} | {n} |" for ph, p, k, n in sorted(rows)]
    lines += ["", "First examples:"]
    for name, st in phases:
        lines += [f"- {name}: {e}" for e in st.examples[:10]]
    return lines


def heap_mib(b):
    return "n/a" if b is None else f"{b / 2**20:.1f}"


def process_tables(topo, ready, start, end, peaks, s):
    lines = ["| process | files limit | heap in use MiB start | end | end limit | "
             "RSS MiB before load | start | peak | end | end limit | "
             "fds before load | start | peak | end | end limit | threads before/start/peak/end |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for peer in topo.burrow:
        r, a, b = ready[peer.label], start.samples[peer.label], end.samples[peer.label]
        pk = peaks.get(peer.label)
        lim = rss_limit_kib(a.rss_kib, s) if a.rss_kib is not None else None
        fd_lim = a.fds + s.fd_slack if a.fds is not None else None
        ha, hb = start.heap.get(peer.label), end.heap.get(peer.label)
        h_lim = ha + s.heap_mib * 2**20 if ha is not None else None
        lines.append(
            f"| {peer.label} | {topo.limits.get(peer.label, '?')} | {heap_mib(ha)} | "
            f"{heap_mib(hb)} | {heap_mib(h_lim)} | {mib(r.rss_kib)} | "
            f"{mib(a.rss_kib)} | {mib(pk.rss_kib if pk else None)} | {mib(b.rss_kib)} | "
            f"{mib(lim)} | {r.fds} | {a.fds} | {pk.fds if pk else 'n/a'} | {b.fds} | {fd_lim} | "
            f"{r.threads}/{a.threads}/{pk.threads if pk else 'n/a'}/{b.threads} |")
    return lines


def fd_diff(a, b):
    """What kinds of descriptors there are more (or fewer) of at the end."""
    kinds = sorted(set(a) | set(b))
    return ", ".join(f"{k} {a.get(k, 0)}->{b.get(k, 0)}"
                     for k in kinds if a.get(k, 0) != b.get(k, 0))


def verdict(topo, phases, start, end, stops, died, s):
    """Reasons to fail, each a line naming what and by how much."""
    reasons = []
    if died:
        reasons.append(died)
    for name, st in phases:
        if st.error_count:
            kinds = Counter()
            for (_, kind), n in st.errors.items():
                kinds[kind] += n
            reasons.append(f"{st.error_count} transfers failed in the {name} phase ("
                           + ", ".join(f"{k}: {n}" for k, n in kinds.most_common()) + ")")
    soak = phases[-1][1]
    for p in PATHS:
        if soak.paths[p].ok == 0:
            reasons.append(f"no transfer passed through the {LABELS[p]} in the soak phase")
    for label, idle in (("after the warm-up", start), ("at the end", end)):
        if not idle.settled and not (died and idle is end):
            reasons.append(f"not idle {idle.waited:.0f} s after the last connection closed "
                           f"{label}: {idle.why}")
    for peer in topo.burrow:
        a, b = start.samples[peer.label], end.samples[peer.label]
        if not (a.ok and b.ok):
            reasons.append(f"{peer.label}: no figures from /proc (start {a}, end {b})")
            continue
        if b.fds > a.fds + s.fd_slack:
            kinds = fd_diff(start.kinds[peer.label], end.kinds[peer.label])
            reasons.append(f"{peer.label}: {b.fds} descriptors at the end, {a.fds} at the start "
                           f"(more than +{s.fd_slack}): {kinds}")
        ha, hb = start.heap.get(peer.label), end.heap.get(peer.label)
        if ha is None or hb is None:
            reasons.append(f"{peer.label}: no heap_in_use_bytes (start {ha}, end {hb})")
        elif hb > ha + s.heap_mib * 2**20:
            reasons.append(f"{peer.label}: {hb / 2**20:.1f} MiB of heap in use at the end, "
                           f"{ha / 2**20:.1f} MiB at the start (more than +{s.heap_mib} MiB)")
        lim = rss_limit_kib(a.rss_kib, s)
        if b.rss_kib > lim:
            reasons.append(f"{peer.label}: RSS {b.rss_kib / 1024:.1f} MiB at the end, "
                           f"{a.rss_kib / 1024:.1f} MiB at the start (limit {lim / 1024:.1f} MiB: "
                           f"+{s.rss_pct} % or +{s.rss_mib} MiB, whichever is larger)")
    for label, (st, grace) in stops.items():
        if st.exited_before:
            reasons.append(f"{label} had exited before it was stopped (exit status {st.rc})")
        elif st.killed:
            reasons.append(f"{label} did not exit within {grace} s of SIGTERM (killed)")
        elif st.rc not in (0, 143):
            how = {134: " (abort)", 139: " (segfault)"}.get(st.rc, "")
            reasons.append(f"{label} exit status {st.rc} after SIGTERM{how}")
    return reasons


def scan_log(path, limit=12):
    """(counts by level, the commonest warning/error/unformatted lines with one example each).
    Numbers are folded, so one kind of line counts once however many connections it names."""
    levels, kinds, example = Counter(), Counter(), {}
    try:
        f = open(path, errors="replace")
    except OSError:
        return levels, []
    with f:
        for line in f:
            line = line.rstrip("\n")
            m = LOG_LINE.match(line)
            level = m.group(1) if m else "unformatted"
            levels[level] += 1
            if level in ("info", "debug", "trace") or not line:
                continue
            if any(e in line for e in EXPECTED):
                continue
            text = f"{m.group(2)} {m.group(3)}" if m else line
            key = f"{level} " + re.sub(r"[0-9]+", "N", text)[:160]
            kinds[key] += 1
            example.setdefault(key, line)
    return levels, [(n, key, example[key]) for key, n in kinds.most_common(limit)]


def log_lines(topo):
    lines = []
    for peer in topo.burrow:
        levels, top = scan_log(peer.proc.log_path)
        counts = ", ".join(f"{k} {n}" for k, n in sorted(levels.items()))
        lines.append(f"- {peer.label} ({peer.proc.log_path.name}): {counts or 'empty'}")
        for n, key, ex in top:
            lines.append(f"    {n:>7} x {key}")
            lines.append(f"            e.g. {ex[:220]}")
    return lines


def render(s, head, topo, phases, soak_secs, ready, start, end, peaks, reasons):
    """The whole report, as lines of Markdown."""
    warm, soak = phases[0][1], phases[-1][1]
    out = [f"## Burrow soak: {s.conns} connections, {s.seconds} s (+{s.warmup} s warm-up)", "",
           head, "", f"### Traffic in the soak phase ({soak_secs:.0f} s; every byte checked)", ""]
    out += traffic_table(soak, soak_secs)
    out += ["", f"Warm-up: {warm.conns} transfers, {warm.bytes / 2**20:.1f} MiB, "
                f"{warm.error_count} errors.", "", "### Errors", ""]
    out += error_lines(phases)
    out += ["", "### Burrow processes (start: idle after the warm-up; end: idle after the soak; "
                "peak: under load)", ""]
    out += process_tables(topo, ready, start, end, peaks, s)
    out += ["", f"Limits: heap in use at the end <= start + {s.heap_mib} MiB (the leak check); "
                f"descriptors at the end <= start + {s.fd_slack}; RSS at the end <= start "
                f"+ max({s.rss_pct} %, {s.rss_mib} MiB) (settings.py says why)."]
    for peer in topo.burrow:
        diff = fd_diff(start.kinds[peer.label], end.kinds[peer.label])
        if diff:
            out.append(f"- {peer.label} descriptor kinds start->end: {diff}")
    if end.service:
        out.append(f"- service at the end: {end.service}")
    if end.overview:
        o = end.overview
        out.append(f"- server at the end: connections_total {o.get('connections_total')}, "
                   f"sessions {o.get('sessions')}, bytes in {o.get('bytes_in')}, out "
                   f"{o.get('bytes_out')}, resumptions {o.get('resumptions')}")
    out += ["", "### Warnings and errors in Burrow's logs (numbers folded)", ""]
    out += log_lines(topo)
    out += ["", "### Verdict", ""]
    out += ["PASS"] if not reasons else ["FAIL:"] + [f"- {r}" for r in reasons]
    return out
