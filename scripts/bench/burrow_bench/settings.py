"""The benchmark's knobs, read from the environment and checked once.

  BURROW_BIN     directory with burrow-server and burrow-client (default: <repo>/build/bin)
  BURROW_BASELINE_BIN  another build's bin directory (say, the previous main): the tcp, http and
                 longpath sections then measure its Burrow paths too, in the same rounds, and
                 print the ratios ("baseline build")
  BENCH_SECONDS  seconds per iperf3 run in the tcp section (default: 5)
  BENCH_ROUNDS   interleaved rounds over all paths of a section; the report takes medians (default: 3)
  BENCH_CONNS    idle connections for the memory test (default: 1000)
  BENCH_OUT      where results go (default: <repo>/build/bench); each run writes
                 BENCH_OUT/<timestamp>/{results.md,results.json,logs/} and updates BENCH_OUT/latest
  BENCH_KEEP_TMP=1  keep the temporary directory (configs, raw logs) for debugging
  BENCH_ONLY     run only these sections (comma separated): tcp (throughput), latency (1-byte
                 ping-pong p50/p99 and thread wake-ups per round trip), mem, http, longpath,
                 visitor, resume, p2p (direct path on loopback: time to ready, QUIC vs relay
                 throughput), natlab (the same between two NATs of network namespaces; root, ip
                 and nft, else it skips itself) (default: all of them); and, only when named,
                 grpcapi (gRPC alone: its callback API against a completion queue of the
                 program's own threads, per 1-byte round trip)
  BENCH_HTTP=0   skip the HTTP section
  BENCH_HTTP_SECONDS  seconds per wrk run (default: 10)
  BENCH_LONGPATH_RTTS  round trips (ms) the long path's delay line adds (default: 50,100)
  BENCH_LONGPATH_SECONDS  counted seconds per iperf3 run on the long path (default: 10)
  BENCH_LONGPATH_OMIT  seconds before those that do not count, while flow-control windows open
                 (default: 5; at 100 ms a tunnel needs about 4 to reach its rate)
  PYTHON         the interpreter scripts/bench.sh runs this with (default: python3)

Needs: iperf3, socat, openssh-server + openssh-client, python3 (standard library only);
for http: nginx (nginx-light), wrk, haproxy, curl; for natlab: root, iproute2 (ip), nftables
(conntrack optional). scripts/setup.sh installs them.
"""
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import BenchError

# Section names in run order, with the spellings BENCH_ONLY accepts for each.
SECTIONS = ("tcp", "latency", "mem", "http", "longpath", "visitor", "resume", "p2p", "natlab")
# Sections that run only when BENCH_ONLY names them (research, not Burrow's figures).
OPT_IN = ("grpcapi",)
_ALIASES = {"tcp": "tcp", "throughput": "tcp", "latency": "latency", "rtt": "latency",
            "mem": "mem", "memory": "mem", "http": "http",
            "longpath": "longpath", "long-path": "longpath", "long_path": "longpath",
            "visitor": "visitor", "visitors": "visitor", "resume": "resume",
            "resumption": "resume", "p2p": "p2p", "direct": "p2p", "natlab": "natlab",
            "nat": "natlab", "nat-lab": "natlab", "nat_lab": "natlab", "grpcapi": "grpcapi"}


@dataclass(frozen=True)
class Settings:
    repo: Path
    burrow_bin: Path            # the build under test
    baseline_bin: Path | None   # another build measured beside it, in the same rounds
    seconds: int                # per iperf3 run (tcp section)
    rounds: int                 # interleaved rounds over all paths of a section
    conns: int                  # idle connections for the memory test
    out: Path                   # BENCH_OUT/<timestamp>/... and BENCH_OUT/latest
    keep_tmp: bool
    sections: tuple[str, ...]
    http_seconds: int           # per wrk run
    longpath_seconds: int       # per iperf3 run through the delay line, counted
    longpath_omit: int          # seconds before those, not counted: the windows open
    longpath_rtts: tuple[int, ...]  # round trips (ms) the delay line adds


def _integer(env, name, default, minimum, must):
    raw = env.get(name, "")
    text = raw if raw != "" else str(default)
    if not re.fullmatch(r"[0-9]+", text) or int(text) < minimum:
        raise BenchError(f"{name} must be {must}")
    return int(text)


def _positive(env, name, default):
    return _integer(env, name, default, 1, "a positive integer")


def _count(env, name, default):
    return _integer(env, name, default, 0, "a whole number of seconds")


def _sections(env):
    # As the shell version did: an empty BENCH_ONLY means all; names split on blanks and commas.
    chosen = []
    for name in re.split(r"[\s,]+", env.get("BENCH_ONLY", "") or " ".join(SECTIONS)):
        if not name:
            continue
        sec = _ALIASES.get(name)
        if sec is None:
            raise BenchError(f"BENCH_ONLY: unknown section '{name}' "
                             f"({', '.join(SECTIONS + OPT_IN)})")
        if sec not in chosen:
            chosen.append(sec)
    if env.get("BENCH_HTTP", "1") == "0":
        chosen = [s for s in chosen if s != "http"]
    if not chosen:
        raise BenchError(f"no section left to run (BENCH_ONLY='{env.get('BENCH_ONLY', '')}', "
                         f"BENCH_HTTP={env.get('BENCH_HTTP', '1')})")
    return tuple(chosen)


def _rtts(env):
    raw = env.get("BENCH_LONGPATH_RTTS", "") or "50,100"
    rtts = []
    for item in re.split(r"[\s,]+", raw.strip()):
        if not re.fullmatch(r"[0-9]+", item) or int(item) < 2:
            raise BenchError("BENCH_LONGPATH_RTTS must list round trips in ms (integers >= 2), "
                             f"comma separated; got '{raw}'")
        if int(item) not in rtts:
            rtts.append(int(item))
    return tuple(rtts)


def from_env(env=None):
    env = os.environ if env is None else env
    repo = Path(__file__).resolve().parents[3]
    baseline = env.get("BURROW_BASELINE_BIN", "")
    return Settings(
        repo=repo,
        burrow_bin=Path(env.get("BURROW_BIN", "") or repo / "build" / "bin"),
        baseline_bin=Path(baseline) if baseline else None,
        seconds=_positive(env, "BENCH_SECONDS", 5),
        rounds=_positive(env, "BENCH_ROUNDS", 3),
        conns=_positive(env, "BENCH_CONNS", 1000),
        out=Path(env.get("BENCH_OUT", "") or repo / "build" / "bench"),
        keep_tmp=env.get("BENCH_KEEP_TMP", "0") == "1",
        sections=_sections(env),
        http_seconds=_positive(env, "BENCH_HTTP_SECONDS", 10),
        longpath_seconds=_positive(env, "BENCH_LONGPATH_SECONDS", 10),
        longpath_omit=_count(env, "BENCH_LONGPATH_OMIT", 5),
        longpath_rtts=_rtts(env),
    )
