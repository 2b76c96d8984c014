"""Watching the processes: peaks and progress while a phase runs (and the phase cut short when a
Burrow process or the service dies), and the wait for an idle state after a phase (settle)."""
import asyncio
import json
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field

from burrow_bench import signals
from burrow_bench.errors import BenchError
from burrow_bench.procs import exited
from burrow_bench.signals import Interrupted

from . import procstat
from .console import log
from .load import PATHS

SAMPLE_EVERY = 5
PROGRESS_EVERY = 10
ENDING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM)   # as burrow_bench.signals


@dataclass
class Monitor:
    topo: object
    peaks: dict = field(default_factory=dict)   # label -> procstat.Sample of maxima under load
    died: str | None = None                     # why the run was cut short

    def note_peaks(self):
        for peer in self.topo.burrow:
            now = procstat.sample(peer.proc.pid)
            if not now.ok:
                continue
            old = self.peaks.get(peer.label, procstat.Sample(0, 0, 0))
            self.peaks[peer.label] = procstat.Sample(max(old.rss_kib, now.rss_kib),
                                                     max(old.fds, now.fds),
                                                     max(old.threads, now.threads))

    def check_alive(self, phase):
        for peer in self.topo.burrow + [self.topo.service]:
            if exited(peer.proc):
                self.died = f"{peer.label} exited during the {phase} phase"
                return False
        return True

    def progress(self, phase, elapsed, seconds, stats, load, started_bytes):
        figs = []
        for peer in self.topo.burrow:
            s = procstat.sample(peer.proc.pid)
            name = peer.label.replace("burrow-client (", "").rstrip(")").replace("burrow-", "")
            figs.append(f"{name} {(s.rss_kib or 0) / 1024:.0f} MiB/{s.fds} fds")
        per = "/".join(str(stats.paths[p].ok) for p in PATHS)
        mib = stats.bytes / 2**20
        log(f"{phase} {elapsed:4.0f}/{seconds} s: {stats.conns} transfers "
            f"({per} tcp/http/visitor), "
            f"{mib:.0f} MiB ({(stats.bytes - started_bytes) / 2**20 / PROGRESS_EVERY:.1f} MiB/s), "
            f"{stats.error_count} errors, {len(load.active)} open; {', '.join(figs)}")

    async def watch(self, phase, seconds, stats, load):
        """Until cancelled: every second a liveness check, peaks every 5 s, a line every 10 s."""
        t0 = time.monotonic()
        tick, last_bytes = 0, 0
        while True:
            await asyncio.sleep(1)
            tick += 1
            if not self.check_alive(phase):
                log(f"STOP: {self.died}")
                load.end = time.monotonic()
                return
            if tick % SAMPLE_EVERY == 0:
                self.note_peaks()
            if tick % PROGRESS_EVERY == 0:
                self.progress(phase, time.monotonic() - t0, seconds, stats, load, last_bytes)
                last_bytes = stats.bytes


async def _phase(phase, seconds, load, stats, monitor, drain):
    """The load with the monitor beside it. The signals that end a run cancel it here: raised
    from a plain handler they would land in whichever task runs, which asyncio keeps to itself."""
    loop, main = asyncio.get_running_loop(), asyncio.current_task()
    got = []

    def on_signal(sig):
        got.append(sig)
        main.cancel()

    for sig in ENDING:
        loop.add_signal_handler(sig, on_signal, sig)
    watcher = asyncio.ensure_future(monitor.watch(phase, seconds, stats, load))
    try:
        await load.run(seconds, stats, drain)
    except asyncio.CancelledError:
        if not got:
            raise
        if got[0] == signal.SIGALRM:
            raise BenchError("the run took longer than its bound; stopping") from None
        raise Interrupted(signal.Signals(got[0]).name) from None
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
    monitor.note_peaks()


def run_phase(phase, seconds, load, stats, monitor, drain):
    """One phase on an event loop of its own; the run's own signal handlers are back after it
    (closing the loop resets the signals it handled to their defaults)."""
    try:
        asyncio.run(_phase(phase, seconds, load, stats, monitor, drain))
    finally:
        signals.catch()


# -- idle state --

def service_stats(port):
    """The service's counters (its own open connections, requests, bytes, errors), or None."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"STATS\n")
            data = b""
            while not data.endswith(b"\n"):
                more = sock.recv(65536)
                if not more:
                    break
                data += more
        return json.loads(data)
    except (OSError, ValueError):
        return None


def server_overview(port):
    """burrow-server's /api/v1/overview (the dashboard, on loopback without a login), or None."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/overview", timeout=5) as r:
            return json.loads(r.read())
    except (OSError, ValueError):
        return None


def client_status(cli_bin, config):
    """`burrow-client status --json` (its sessions, heap_in_use_bytes, ...), or None."""
    try:
        p = subprocess.run([str(cli_bin), "status", "-c", str(config), "--json"],
                           capture_output=True, text=True, timeout=10)
        return json.loads(p.stdout) if p.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


@dataclass
class Idle:
    settled: bool
    waited: float
    why: str                      # what was still busy when the bound passed ("" when settled)
    samples: dict                 # label -> procstat.Sample
    kinds: dict                   # label -> Counter of fd kinds
    heap: dict                    # label -> bytes held from malloc (heap_in_use_bytes) or None
    service: dict | None
    overview: dict | None


def settle(topo, cli_bin, bound, reference, slack):
    """Polls until nothing is left open (the service holds no connection, the server lists no
    session, neither client lists one), every Burrow process's descriptor count has held still
    for 2 s and is within `slack` of `reference` (label -> descriptors: a socket whose
    connection has closed may keep its descriptor a moment longer); at most `bound` seconds.
    The figures are those sampled at the start of the deciding poll, before its own
    connections to the dashboard and the admin sockets."""
    t0 = time.monotonic()
    last, since = None, t0    # descriptor counts, and since when they have not changed
    while True:
        now = time.monotonic()
        samples = {p.label: procstat.sample(p.proc.pid) for p in topo.burrow}
        kinds = {p.label: procstat.fd_kinds(p.proc.pid) for p in topo.burrow}
        fds = tuple(x.fds for x in samples.values())
        if fds != last:
            moved = [f"{p.label} {a}->{b}"
                     for p, a, b in zip(topo.burrow, last or fds, fds) if a != b]
            last, since = fds, now
        steady = now - since >= 2.0
        svc = service_stats(topo.service_port)
        over = server_overview(topo.dashboard_port)
        busy = []
        if svc is None or svc["open"]:
            busy.append(f"the service holds {svc['open'] if svc else '?'} connections")
        if over is None or over.get("sessions"):
            busy.append(f"the server lists {over.get('sessions') if over else '?'} sessions")
        if not steady:
            busy.append("descriptor counts moved in the last 2 s"
                        + (f" ({', '.join(moved)})" if moved else ""))
        for label, x in samples.items():
            if x.fds is None or x.fds > reference[label] + slack:
                busy.append(f"{label} holds {x.fds} descriptors ({reference[label]} + {slack} "
                            f"expected): {dict(kinds[label])}")
        heap = {p.label: None for p in topo.burrow}
        heap[topo.server.label] = over.get("heap_in_use_bytes") if over else None
        if not busy:
            for peer in (topo.home, topo.laptop):
                st = client_status(cli_bin, peer.config)
                n = len(st["sessions"]) if st and "sessions" in st else None
                heap[peer.label] = st.get("heap_in_use_bytes") if st else None
                if n != 0:
                    busy.append(f"{peer.label} lists {'?' if n is None else n} sessions")
        waited = time.monotonic() - t0
        if not busy or waited > bound:
            return Idle(not busy, waited, "; ".join(busy), samples, kinds, heap, svc, over)
        time.sleep(0.25)
