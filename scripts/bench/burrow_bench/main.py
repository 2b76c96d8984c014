"""The benchmark run: check the knobs and tools, run the chosen sections, write the report.
Loopback only, or network namespaces of its own (the natlab section; DESIGN.md §8); every wait
is bounded and so is the whole run; everything it starts is stopped by pid, and every namespace
it made deleted, on exit, failure or Ctrl-C."""
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import report, settings, signals
from .console import log
from .context import Run
from .errors import BenchError
from .signals import Interrupted
from .peers import netns
from .sections import grpcapi, http, latency, longpath, mem, natlab, p2p, resume, tcp, visitor

SECTIONS = {"tcp": tcp, "latency": latency, "mem": mem, "http": http, "longpath": longpath,
            "visitor": visitor, "resume": resume, "p2p": p2p, "natlab": natlab,
            "grpcapi": grpcapi}
# What the report searches Burrow's logs (the build under test's) for.
PROBLEM = re.compile(r"\b(warn|warning|error|critical)\b|^[EWF][0-9]{4} ")
# A line of Burrow's own log is judged by its level alone ("visit aborted (service ended the
# session with an error)" is an info line); any other line (gRPC's, a crash's) by its words.
LOG_LEVEL = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ (\S+) ")
TLS_OFF_WARNING = "TLS is off: client traffic and logins are not encrypted"


def _problem(line):
    m = LOG_LEVEL.match(line)
    return m.group(1) in ("warning", "error", "critical") if m else PROBLEM.search(line)


def _check_tools(s):
    for tool in dict.fromkeys(t for name in s.sections for t in SECTIONS[name].TOOLS):
        if os.path.isabs(tool):
            if not os.access(tool, os.X_OK):
                raise BenchError(f"missing {tool} (run scripts/setup.sh)")
        elif shutil.which(tool) is None:
            raise BenchError(f"missing tool: {tool} (run scripts/setup.sh)")
    for role in ("server", "client"):
        if not os.access(s.burrow_bin / f"burrow-{role}", os.X_OK):
            raise BenchError(f"no burrow-server/burrow-client in {s.burrow_bin}; build first: "
                             "cmake --build build -j2 (or set BURROW_BIN)")
        if s.baseline_bin and not os.access(s.baseline_bin / f"burrow-{role}", os.X_OK):
            raise BenchError(f"no burrow-{role} in BURROW_BASELINE_BIN={s.baseline_bin}")


def _raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (65536, 65536))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _first_line(*argv, both=False):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    txt = ((p.stdout + p.stderr) if both else p.stdout).strip()
    return txt.splitlines()[0] if both and txt else txt


def _meta(s):
    repo = str(s.repo)
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    meta = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "sections": list(s.sections),
        "seconds": s.seconds, "rounds": s.rounds, "connections": s.conns,
        "burrow_bin": str(s.burrow_bin), "http_seconds": s.http_seconds,
        "burrow_version": _first_line(str(s.burrow_bin / "burrow-server"), "--version"),
        "git_commit": _first_line("git", "-C", repo, "rev-parse", "--short", "HEAD"),
        "git_dirty": bool(_first_line("git", "-C", repo, "status", "--porcelain", "--untracked-files=no")),
        "nproc": os.cpu_count(), "loadavg_start": load,
        "ssh": subprocess.run(["ssh", "-V"], capture_output=True, text=True, timeout=10).stderr.strip(),
    }
    if s.baseline_bin:
        meta["baseline_bin"] = str(s.baseline_bin)
        meta["baseline_version"] = _first_line(str(s.baseline_bin / "burrow-server"), "--version")
    if {"tcp", "longpath", "p2p", "natlab"} & set(s.sections):
        meta["iperf3"] = _first_line("iperf3", "--version")
    if "natlab" in s.sections and netns.tool("nft"):
        meta["nft"] = _first_line(netns.tool("nft"), "--version")
    if "longpath" in s.sections:
        meta["longpath_seconds"] = s.longpath_seconds
        meta["longpath_omit"] = s.longpath_omit
        meta["longpath_rtts"] = list(s.longpath_rtts)
    if "http" in s.sections:
        meta["nginx"] = _first_line("/usr/sbin/nginx", "-v", both=True)
        meta["wrk"] = _first_line("wrk", "--version", both=True)
        meta["haproxy"] = _first_line("haproxy", "-v", both=True)
    return meta


def _keep_logs(tmp, logs):
    """Raw results, logs and configs into BENCH_OUT/<time>/logs."""
    for pattern in ("*.log", "iperf-*.json", "latency-*.json", "mem*-*.json", "wrk-*.txt",
                    "wrk-*.err", "haproxy*.cfg", "meta.json", "nginx/nginx.conf"):
        for f in tmp.glob(pattern):
            shutil.copy2(f, logs)
    for toml in tmp.glob("*/*.toml"):
        shutil.copy2(toml, logs / f"{toml.parent.name}-{toml.name}")


def _problems(tmp):
    """Noted problems, then what Burrow's own logs say (the build under test's), 30 lines."""
    found = []
    if (tmp / "problems.txt").exists():
        found += (tmp / "problems.txt").read_text(errors="replace").splitlines()
    tags = ["plain", "tls", "latplain", "lattls", "mem", "http", "vplain", "vtls"] + [
        f"v{m}-{side}" for m in ("plain", "tls") for side in ("home", "laptop")] + sorted(
        {f.name.rsplit("-", 1)[0] for f in tmp.glob("lp*-*.log")
         if re.fullmatch(r"lp[0-9]+-(plain|tls)-(server|client)\.log", f.name)},
        key=lambda t: (int(t[2:t.index("-")]), t))
    # The p2p and natlab sections' rounds: p2pN (server), p2pN-home and p2pN-laptop (clients).
    for sec in ("p2p", "natlab"):
        logs = re.compile(sec + r"[0-9]+(-home|-laptop)?-(server|client)\.log")
        tags += sorted({f.name.rsplit("-", 1)[0] for f in tmp.glob(f"{sec}*-*.log")
                        if logs.fullmatch(f.name)},
                       key=lambda t, sec=sec: (int(re.match(sec + r"([0-9]+)", t).group(1)), t))
    for tag in tags:
        for role in ("server", "client"):
            f = tmp / f"{tag}-{role}.log"
            if not f.exists():
                continue
            for line in f.read_text(errors="replace").splitlines():
                if _problem(line) and TLS_OFF_WARNING not in line:
                    found.append(f"{f.name}:{line}")
    return found[:30]


def _report(r, meta):
    parts = []
    for name in r.settings.sections:
        sec = SECTIONS[name]
        lines, result, targets = sec.report(r.tmp, meta)
        parts.append((sec.RESULT_KEY, lines, result, targets))
    print()
    report.write(meta, parts, str(r.out))
    problems = _problems(r.tmp)
    print()
    if problems:
        print(f"### Burrow problems during the run (first 30 lines; full logs in {r.out / 'logs'})")
        print()
        print("```")
        print("\n".join(problems))
        print("```")
        (r.out / "problems.txt").write_text("\n".join(problems) + "\n")
    else:
        print("No Burrow warnings, errors, crashes or slow shutdowns.")
    print(flush=True)


def _run(s):
    _check_tools(s)
    _raise_fd_limit()
    if "mem" in s.sections:
        mem.check(s)
    tmp = Path(tempfile.mkdtemp(prefix="burrow-bench.", dir="/tmp"))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    r = Run(s, tmp, s.out / stamp)
    ok = False
    try:
        (r.out / "logs").mkdir(parents=True, exist_ok=True)
        bound = sum(SECTIONS[name].budget(s) for name in s.sections) + 120
        signal.alarm(bound)
        srv, _ = r.binaries()
        meta = _meta(s)
        report.write_json(tmp / "meta.json", meta)
        with open("/proc/loadavg") as f:
            load = " ".join(f.read().split()[:3])
        log(f"sections: {' '.join(s.sections)}; burrow {_first_line(str(srv), '--version') or '?'}; "
            f"load average {load}; tmp {tmp}; bound {bound} s")
        for name in s.sections:
            SECTIONS[name].run(r)
        _keep_logs(tmp, r.out / "logs")
        _report(r, meta)
        latest = s.out / "latest"
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(stamp)
        log(f"results: {r.out} (results.md, results.json, logs/)")
        ok = True
    finally:
        signals.ignore()
        r.procs.cleanup()
        netns.cleanup_all()
        if not ok:
            try:
                _keep_logs(tmp, r.out / "logs")
                log(f"run failed; logs so far in {r.out / 'logs'}")
            except OSError as e:
                log(f"run failed; could not keep its logs: {e}")
        if r.made_run_sshd:
            try:
                os.rmdir("/run/sshd")
            except OSError:
                pass
        if s.keep_tmp:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    signals.catch()
    try:
        _run(settings.from_env())
    except BenchError as e:
        log(f"ERROR: {e}")
        return 1
    except (OSError, subprocess.SubprocessError) as e:
        log(f"ERROR: {type(e).__name__}: {e}")
        return 1
    except Interrupted:
        log("interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
