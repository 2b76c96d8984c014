"""The soak test's knobs, read from the environment and checked once.

  SOAK_CONNS       connections kept open at once, spread evenly over the three paths (tcp
                   proxy, http proxy through the vhost, visitor of a secret proxy) (default: 500)
  SOAK_SECONDS     length of the soak phase (default: 120, for CI; 1800 for a long run)
  SOAK_WARMUP      seconds of the same load before it, after which the start figures are taken
                   (default: 10)
  SOAK_MIN_BYTES   smallest transfer (default: 1)
  SOAK_MAX_BYTES   largest transfer; sizes are log-uniform in between, so half the connections
                   carry under ~2 KiB and most of the bytes come from the large ones
                   (default: 4194304, 4 MiB)
  SOAK_STALL       seconds a transfer may go without a byte before it counts as stalled
                   (default: 30; the server's work_timeout is 10)
  SOAK_FD_SLACK    descriptors a Burrow process may hold at the end beyond the start (default: 8;
                   both are idle states, and runs here end with exactly the start's count, so a
                   leak of one descriptor in 10 000 connections fails a 120 s run)
  SOAK_HEAP_MIB    bytes held from malloc (each process's heap_in_use_bytes: the dashboard's
                   overview for burrow-server, `burrow-client status --json` for the clients) that
                   a Burrow process may hold at the end beyond the start, in MiB (default: 16).
                   This is the leak check: 16 MiB over the 120 s run's ~75 000 transfers is
                   ~220 B per transfer, 15 B over 1800 s. Both figures are idle states; they hold
                   5-10 MiB.
  SOAK_RSS_PCT, SOAK_RSS_MIB  RSS a Burrow process may grow from start to end: the larger of
                   these (default: 100 % and 192 MiB). A bound on what glibc keeps, not a leak
                   check (SOAK_HEAP_MIB is): idle RSS after load is mostly freed heap (3-8 MiB in
                   use against 60-380 MiB resident), set by the largest burst of data in flight.
                   Burrow hands it back once idle (common/heap_release.hpp), all but the top of
                   each thread's arena, which glibc keeps. burrow-server's growth from start to
                   end over five runs with that: +10, +27, +28, +53 and +168 MiB (the last in CI,
                   when the vhost's pool of relay buffers still pinned arena tops; it is emptied
                   once idle since), and 177 -> 276 MiB without it (a CI run failed the former
                   +50 %/+64 MiB bound so). Fewer arenas keep it lower: with MALLOC_ARENA_MAX=2 in
                   the environment (glibc's own variable; Burrow inherits it) idle RSS stayed at
                   86 MiB through a 120 s run, and a much lower SOAK_RSS_PCT bounds it finely.
  SOAK_SETTLE      bound in seconds on the wait for an idle state after the connections closed
                   (default: 60; the vhost keeps idle upstreams 30 s and sweeps every 5 s)
  SOAK_TLS=1       TLS between the clients and the server (default: 0, off)
  SOAK_KEEP=1      keep the temporary directory (configs, logs) and print where it is
  BURROW_BIN       directory with burrow-server and burrow-client (default: <repo>/build/bin)
  PYTHON           the interpreter scripts/soak.sh runs this with (default: python3)
"""
import os
import re
from dataclasses import dataclass
from pathlib import Path

from burrow_bench.errors import BenchError


@dataclass(frozen=True)
class Settings:
    repo: Path
    burrow_bin: Path
    conns: int
    seconds: int
    warmup: int
    min_bytes: int
    max_bytes: int
    stall: int
    fd_slack: int
    heap_mib: int
    rss_pct: int
    rss_mib: int
    settle: int
    tls: bool
    keep: bool

    @property
    def drain(self):
        """Bound on the wait for transfers in flight once a phase ends: a stalled one is cut
        after `stall` seconds anyway."""
        return self.stall + 30

    @property
    def bound(self):
        """The whole run's hard bound (SIGALRM), in seconds: both phases, their drains and
        settles, plus start-up and the stops."""
        return self.warmup + self.seconds + 2 * (self.drain + self.settle) + 180


def _integer(env, name, default, minimum):
    raw = env.get(name, "")
    text = raw if raw != "" else str(default)
    if not re.fullmatch(r"[0-9]+", text) or int(text) < minimum:
        raise BenchError(f"{name} must be an integer >= {minimum} (got '{raw}')")
    return int(text)


def _flag(env, name):
    raw = env.get(name, "") or "0"
    if raw not in ("0", "1"):
        raise BenchError(f"{name} must be 0 or 1 (got '{raw}')")
    return raw == "1"


def from_env(env=None):
    env = os.environ if env is None else env
    repo = Path(__file__).resolve().parents[3]
    s = Settings(
        repo=repo,
        burrow_bin=Path(env.get("BURROW_BIN", "") or repo / "build" / "bin"),
        conns=_integer(env, "SOAK_CONNS", 500, 3),
        seconds=_integer(env, "SOAK_SECONDS", 120, 1),
        warmup=_integer(env, "SOAK_WARMUP", 10, 1),
        min_bytes=_integer(env, "SOAK_MIN_BYTES", 1, 1),
        max_bytes=_integer(env, "SOAK_MAX_BYTES", 4 << 20, 1),
        stall=_integer(env, "SOAK_STALL", 30, 1),
        fd_slack=_integer(env, "SOAK_FD_SLACK", 8, 0),
        heap_mib=_integer(env, "SOAK_HEAP_MIB", 16, 0),
        rss_pct=_integer(env, "SOAK_RSS_PCT", 100, 0),
        rss_mib=_integer(env, "SOAK_RSS_MIB", 192, 0),
        settle=_integer(env, "SOAK_SETTLE", 60, 1),
        tls=_flag(env, "SOAK_TLS"),
        keep=_flag(env, "SOAK_KEEP"),
    )
    if s.min_bytes > s.max_bytes:
        raise BenchError(f"SOAK_MIN_BYTES ({s.min_bytes}) is above SOAK_MAX_BYTES ({s.max_bytes})")
    return s
