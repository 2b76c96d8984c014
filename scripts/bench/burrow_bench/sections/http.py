"""http: wrk -t2 -c50 --latency against nginx serving a 1 KiB file, direct, through a two-hop
haproxy chain, `ssh -R` and Burrow's vhost (TLS off; and the baseline build's), keep-alive and
Connection: close."""
import subprocess

from ..console import log, tail
from ..errors import BenchError, PeerFailed
from ..peers import burrow, chain, haproxy, nginx, ssh, wrk
from ..peers.wrk import MODES
from ..report import fmt, median, ratio, verdict_ge, verdict_le
from ..rounds import in_order
from ..waits import free_ports

RESULT_KEY = "http"
TOOLS = ["ssh", "ssh-keygen", ssh.SSHD, "wrk", "haproxy", "curl", nginx.NGINX]
DOMAIN = "bench.test"

PATHS = [
    ("direct", "nginx direct"),
    ("haproxy", "haproxy 2-hop chain"),
    ("ssh", "ssh -R"),
    ("burrow", "Burrow http vhost, TLS off"),
]


def budget(s):
    paths = len(PATHS) + (1 if s.baseline_bin else 0)
    return s.rounds * len(MODES) * paths * (s.http_seconds + 2) + 90


def check_path(r, key, port, served):
    """One GET of /1k.bin with Host: DOMAIN through port must return the file; None when it
    does, else what came back."""
    body, errf = r.tmp / f"http-check-{key}.body", r.tmp / f"http-check-{key}.err"
    try:
        with open(errf, "wb") as err:
            got = subprocess.run(["curl", "-sS", "--max-time", "10", "-H", f"Host: {DOMAIN}",
                                  "-o", body, "-w", "%{http_code}", f"http://127.0.0.1:{port}/1k.bin"],
                                 stdout=subprocess.PIPE, stderr=err, timeout=15).stdout.decode()
    except subprocess.TimeoutExpired:
        got = ""
    data = body.read_bytes() if body.exists() else b""
    if got == "200" and data == served.read_bytes():
        return None
    start = "".join(chr(c) if 32 <= c < 127 else " " for c in data[:120])
    msg = (f"status {got or 'none'}, {len(data)} body bytes, body starts '{start}' "
           f"{errf.read_text(errors='replace')[:200]}")
    log(f"http check {key} (port {port}): {msg}")
    return msg


def _failed(r, tag, what, unavailable=True):
    """A Burrow vhost path is not measured: say why, with the last log lines; the build under
    test's (unavailable) also in its table row."""
    r.note(f"Burrow HTTP vhost ({tag}): {what}; last log lines:")
    for role in ("server", "client"):
        f = r.tmp / f"{tag}-{role}.log"
        if f.exists():
            r.add_problem_lines("".join(f"  {tag}-{role}.log: {line}\n"
                                        for line in tail(f, 8).splitlines()))
    if unavailable:
        (r.tmp / "http-unavailable-burrow.txt").write_text(what + "\n")


def run(r):
    s = r.settings
    nginx_port, vhost_port, base_vhost_port = free_ports(3)
    log(f"http: nginx, two-hop haproxy, ssh -R, Burrow vhost (TLS off); wrk -t2 -c50 "
        f"{s.http_seconds}s x {s.rounds} rounds x 2 modes")
    paths = []   # (key, port) measured

    web = nginx.start(r, nginx_port)
    if check_path(r, "direct", web.port, web.file):
        raise BenchError("nginx does not serve /1k.bin")
    paths.append(("direct", web.port))

    hap = haproxy.start_chain(r, web.port)
    if check_path(r, "haproxy", hap.port, web.file):
        raise BenchError("the haproxy chain does not serve /1k.bin")
    paths.append(("haproxy", hap.port))

    fwd = ssh.start(r, "http", web.port)
    if check_path(r, "ssh", fwd.port, web.file):
        raise BenchError("ssh -R does not serve /1k.bin")
    paths.append(("ssh", fwd.port))

    # Burrow's vhost, TLS off: a failure here is reported, not fatal.
    pair = None
    try:
        pair = burrow.start_http(r, "http", "bench", web.port, DOMAIN, vhost_port)
        msg = check_path(r, "burrow", vhost_port, web.file)
        if msg is None:
            paths.append(("burrow", vhost_port))
        else:
            _failed(r, "http", f"GET http://127.0.0.1:{vhost_port}/1k.bin with Host: {DOMAIN} "
                    f"did not return the file: {msg}")
    except PeerFailed as e:
        _failed(r, "http", str(e))

    base = None
    if s.baseline_bin:
        try:
            base = burrow.start_http(r, "httpbase", "bench", web.port, DOMAIN, base_vhost_port,
                                     baseline=True)
            if check_path(r, "baseline", base_vhost_port, web.file) is None:
                paths.append(("baseline", base_vhost_port))
        except PeerFailed as e:
            _failed(r, "httpbase", str(e), unavailable=False)

    for rnd in range(1, s.rounds + 1):
        for mode, _ in MODES:
            for key, port in in_order(paths, rnd):
                wrk.measure(r, key, port, rnd, mode, s.http_seconds, DOMAIN)

    ssh.stop(r, fwd)
    chain.stop(r, hap)
    if pair:
        burrow.stop_pair(r, pair, "http vhost")
    if base:
        burrow.stop_pair(r, base)
    r.procs.stop(web.proc)


def _summarize(work, key, rounds):
    out = {}
    unavailable = None
    f = work / f"http-unavailable-{key}.txt"
    if f.exists():
        unavailable = f.read_text().strip()
    for mode, _ in MODES:
        runs = [wrk.parse(work / f"wrk-{key}-{mode}-r{r}.txt") for r in range(1, rounds + 1)]
        if unavailable:
            for d in runs:
                d["error"] = "not run: " + unavailable
        errors = sorted({d["error"] for d in runs if d.get("error")})
        out[mode] = {
            "rps": median(d["rps"] for d in runs),
            "p50_ms": median(d["p50_ms"] for d in runs),
            "p99_ms": median(d["p99_ms"] for d in runs),
            "requests": sum(d["requests"] or 0 for d in runs),
            "non2xx": sum(d["non2xx"] for d in runs),
            "socket_errors": sum(sum(d["socket_errors"].values()) for d in runs),
            "rounds": runs,
            "error": "; ".join(errors) if errors else None,
        }
    return out


def report(work, meta):
    rounds = int(meta.get("rounds", 1))
    secs = meta.get("http_seconds", "?")
    paths = list(PATHS)
    if (work / "wrk-baseline-ka-r1.txt").exists():
        paths.append(("baseline", "Burrow http vhost, TLS off, baseline build"))
    http = {key: _summarize(work, key, rounds) for key, _ in paths}

    lines = [f"### HTTP (wrk -t2 -c50 --latency, {secs} s per run, 1 KiB file from nginx, "
             f"loopback, median of {rounds} interleaved rounds)", "",
             "Connection: close makes every request a new connection, so its req/s is new connections/s.", "",
             "| path | keep-alive req/s | p50 ms | p99 ms | Connection: close req/s | p50 ms | p99 ms | bad responses / socket errors |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for key, label in paths:
        ka, cl = http[key]["ka"], http[key]["close"]
        bad = f"{ka['non2xx'] + cl['non2xx']} / {ka['socket_errors'] + cl['socket_errors']}"
        lines.append(f"| {label} | {fmt(ka['rps'], 0)} | {fmt(ka['p50_ms'])} | {fmt(ka['p99_ms'])} | "
                     f"{fmt(cl['rps'], 0)} | {fmt(cl['p50_ms'])} | {fmt(cl['p99_ms'])} | {bad} |")
    lines.append("")

    # Burrow against the baselines, per mode. A Burrow run that answered with errors does not
    # count as a pass, however fast it was. The issue sets the targets for keep-alive and asks
    # only to report new connections per second; the Connection: close ratios are shown
    # against the same limits for reference and are not counted among the targets.
    def against(other, field):
        return lambda m: ratio(http["burrow"][m][field], http[other][m][field])
    checks = [
        ("req/s: Burrow / ssh -R", ">= 4", 4.0, verdict_ge, against("ssh", "rps")),
        ("req/s: Burrow / haproxy 2-hop", ">= 0.5", 0.5, verdict_ge, against("haproxy", "rps")),
        ("p99: Burrow / haproxy 2-hop", "<= 2", 2.0, verdict_le, against("haproxy", "p99_ms")),
    ]
    if "baseline" in http:
        checks += [("req/s: Burrow / baseline build", ">= 0.95", 0.95, verdict_ge, against("baseline", "rps")),
                   ("p99: Burrow / baseline build", "<= 1.05", 1.05, verdict_le, against("baseline", "p99_ms"))]
    targets = []
    lines += ["| ratio | target | keep-alive | verdict | Connection: close | same limit (reference only) |",
              "|---|---:|---:|---|---:|---|"]
    for name, shown_lim, lim, judge, value in checks:
        cells = []
        for mode, mlabel in MODES:
            v = value(mode)
            verdict = judge(v, lim)
            b = http["burrow"][mode]
            if v is not None and (b["non2xx"] or b["socket_errors"]):
                verdict = "MISS (errors)"
            shown = f"{fmt(v)}x" if v is not None else "n/a"
            if mode != "ka":
                cells += [shown, {"PASS": "within", "MISS": "outside"}.get(verdict, verdict)]
                continue
            cells += [shown, f"**{verdict}**"]
            targets.append({"target": f"HTTP {mlabel}, {name} {shown_lim}", "value": v,
                            "limit": lim, "verdict": verdict})
        lines.append(f"| {name} | {shown_lim} | " + " | ".join(cells) + " |")
    lines.append("")

    # The same ratios round by round: each pair ran minutes apart, so these show how far the
    # machine's noise moves them.
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
    for mode, mlabel in MODES:
        lines.append(f"{mlabel} req/s per round: " + "; ".join(
            f"{label}: " + " ".join(fmt(d["rps"], 0) for d in http[key][mode]["rounds"])
            for key, label in paths))
        lines.append("")
    for key, label in PATHS:
        for mode, mlabel in MODES:
            e = http[key][mode]
            if e["error"]:
                lines.append(f"- {label} ({mlabel}): {e['error']}")
            elif e["non2xx"] or e["socket_errors"]:
                lines.append(f"- {label} ({mlabel}): {e['non2xx']} non-2xx/3xx responses, "
                             f"{e['socket_errors']} socket errors in {e['requests']} requests")
    if lines[-1] != "":
        lines.append("")
    return lines, http, targets
