"""The soak run: start the service and the three Burrow processes, a warm-up phase, an idle
state (the start figures), the soak phase, an idle state again (the end figures), stop them,
report and judge. The whole run is bounded (SIGALRM, and a watchdog thread that kills what was
started if even the cleanup hangs); everything started is stopped by pid, also on failure or
Ctrl-C, and the temporary directory is removed."""
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from burrow_bench import signals
from burrow_bench.errors import BenchError
from burrow_bench.procs import Procs
from burrow_bench.signals import Interrupted

from . import load, monitor, peers, procstat, report, settings, stream
from .console import log, tail

EXIT_FAILED, EXIT_TIMEOUT, EXIT_INTERRUPTED = 1, 124, 130


@dataclass
class Run:
    tmp: Path
    procs: Procs
    started: list = field(default_factory=list)   # every Proc, for the watchdog


def _raise_fd_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    if soft != resource.RLIM_INFINITY and soft < needed:
        raise BenchError(f"open files limit {soft} (hard {hard}) is below the {needed} this run "
                         "needs; raise it (ulimit -Hn) or lower SOAK_CONNS")
    return soft


def _watchdog(run, secs, keep):
    """If the run (cleanup included) is not over secs from now: SIGKILL every process group
    started and not yet reaped (so their pids are still ours), remove the temporary
    directory, and exit 124."""
    def fire():
        log(f"ERROR: the run is still going {secs} s after it began, cleanup included; "
            "killing what it started")
        for proc in run.started:
            if proc.popen.returncode is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass
        if not keep:
            shutil.rmtree(run.tmp, ignore_errors=True)
        os._exit(EXIT_TIMEOUT)
    t = threading.Timer(secs, fire)
    t.daemon = True
    t.start()
    return t


def _binaries(s, tmp):
    """burrow-server and burrow-client copied into tmp, so a rebuild meanwhile cannot swap them."""
    out = []
    for role in ("server", "client"):
        src = s.burrow_bin / f"burrow-{role}"
        if not os.access(src, os.X_OK):
            raise BenchError(f"no {src}; build first: bash scripts/build.sh (or set BURROW_BIN)")
        dst = tmp / f"burrow-{role}"
        shutil.copy2(src, dst)
        out.append(dst)
    return tuple(out)


def _first_line(*argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def _loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def _soak(s, run):
    t_begin = time.monotonic()
    binaries = _binaries(s, run.tmp)
    version = _first_line(str(binaries[0]), "--version")
    commit = _first_line("git", "-C", str(s.repo), "rev-parse", "--short", "HEAD")
    log(f"{version} ({commit}); {s.conns} connections, {s.warmup} s warm-up + {s.seconds} s, "
        f"{s.min_bytes}..{s.max_bytes} B per transfer, TLS {'on' if s.tls else 'off'}; "
        f"load average {_loadavg()}; bound {s.bound} s; tmp {run.tmp}")
    topo = peers.start(run, s, binaries)
    # Each process holds at most one descriptor per open user connection on each side it
    # serves, and a fixed few of its own.
    peers.check_limits(topo, 2 * s.conns + 256)
    ready = {p.label: procstat.sample(p.proc.pid) for p in topo.burrow}
    log("up: " + ", ".join(f"{p} port {n}" for p, n in topo.ports.items())
        + f"; service port {topo.service_port}; files limits "
        + ", ".join(f"{k} {v}" for k, v in topo.limits.items()))

    pool = stream.make_pool()
    rng_seed, rng = load.new_rng()
    ld = load.Load(pool, topo.ports, s.conns, s.min_bytes, s.max_bytes, s.stall, rng)
    mon = monitor.Monitor(topo)
    cli = binaries[1]

    warm = load.Stats()
    monitor.run_phase("warm-up", s.warmup, ld, warm, mon, s.drain)
    if mon.died:
        raise BenchError(f"{mon.died}; see the log lines above")
    log(f"warm-up done: {warm.conns} transfers, {warm.error_count} errors; waiting for idle "
        f"(at most {s.settle} s)")
    start = monitor.settle(topo, cli, s.settle, {k: v.fds for k, v in ready.items()}, s.fd_slack)
    log(f"start figures after {start.waited:.1f} s"
        + ("" if start.settled else f" (not idle: {start.why})"))

    mon.peaks = {}
    soak = load.Stats()
    t_soak = time.monotonic()
    monitor.run_phase("soak", s.seconds, ld, soak, mon, s.drain)
    soak_secs = time.monotonic() - t_soak
    log(f"soak done: {soak.conns} transfers, {soak.error_count} errors; waiting for idle "
        f"(at most {s.settle} s)")
    end = monitor.settle(topo, cli, 0 if mon.died else s.settle,
                         {k: v.fds for k, v in start.samples.items()}, s.fd_slack)
    log(f"end figures after {end.waited:.1f} s"
        + ("" if end.settled else f" (not idle: {end.why})"))
    if mon.died:
        for p in topo.burrow + [topo.service]:
            log(f"last lines of {p.proc.log_path.name}:\n{tail(p.proc.log_path, 12)}")

    # The server lets open tcp and visit connections finish for shutdown_timeout (10 s) first.
    stops = {}
    for peer, grace in ((topo.laptop, 5), (topo.home, 5), (topo.server, 15)):
        stops[peer.label] = (run.procs.stop(peer.proc, grace=grace), grace)
    run.procs.stop(topo.service.proc, grace=2)
    total = time.monotonic() - t_begin

    phases = [("warm-up", warm), ("soak", soak)]
    reasons = report.verdict(topo, phases, start, end, stops, mon.died, s)
    head = (f"{version} ({commit}), TLS {'on' if s.tls else 'off'}, transfers of "
            f"{s.min_bytes}..{s.max_bytes} B (log-uniform), rng seed {rng_seed}; load average "
            f"at the end {_loadavg()}; run took {total:.0f} s (soak phase {soak_secs:.0f} s, "
            f"idle waits {start.waited:.0f} s and {end.waited:.0f} s).")
    print("\n".join(report.render(s, head, topo, phases, soak_secs, ready, start, end, mon.peaks,
                                  reasons)), flush=True)
    return 0 if not reasons else EXIT_FAILED


def _run(s):
    _raise_fd_limit(s.conns + 256)
    soak_dir = str(Path(__file__).resolve().parents[1])
    bench_dir = str(Path(__file__).resolve().parents[2] / "bench")
    inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join([soak_dir, bench_dir] + inherited)
    tmp = Path(tempfile.mkdtemp(prefix="burrow-soak."))
    run = Run(tmp, Procs(tmp))
    dog = _watchdog(run, s.bound + 60, s.keep)
    signal.alarm(s.bound)
    try:
        return _soak(s, run)
    finally:
        signals.ignore()
        run.procs.cleanup()
        for sock in peers.admin_sockets(tmp):
            sock.unlink(missing_ok=True)
        if s.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        dog.cancel()


def main():
    signals.catch()
    try:
        s = settings.from_env()
        return _run(s)
    except BenchError as e:
        log(f"ERROR: {e}")
        return EXIT_TIMEOUT if "longer than its bound" in str(e) else EXIT_FAILED
    except Interrupted as e:
        log(f"interrupted ({e})")
        return EXIT_INTERRUPTED
    except (OSError, subprocess.SubprocessError) as e:
        log(f"ERROR: {type(e).__name__}: {e}")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
