"""Bounded waits for a peer to be ready (a log line, a listener, a file), and free ports.
Loopback only: every address here is 127.0.0.1."""
import re
import socket
import time

from .console import log, tail
from .errors import PeerFailed
from .procs import exited


def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1 (free when asked; the peer binds them next)."""
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def wait_log(proc, regex, secs, what):
    """The first match of regex in proc's log, within secs; PeerFailed(what) otherwise, after
    showing the log's last lines."""
    pattern = re.compile(regex)
    deadline = time.monotonic() + secs
    while True:
        try:
            with open(proc.log_path, errors="replace") as f:
                m = pattern.search(f.read())
            if m:
                return m
        except OSError:
            pass
        if exited(proc):
            log(f"process {proc.pid} exited; log {proc.log_path}:\n{tail(proc.log_path, 20)}")
            raise PeerFailed(what)
        if time.monotonic() > deadline:
            log(f"timeout ({secs}s) waiting for /{regex}/ in {proc.log_path}:\n{tail(proc.log_path, 20)}")
            raise PeerFailed(what)
        time.sleep(0.05)


def _listening(port):
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    local, state = line.split()[1], line.split()[3]
                    if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                        return True
        except (OSError, StopIteration):
            continue
    return False


def wait_listen(port, secs, what):
    """Until something listens on port (read from /proc: a probe connection would count as a
    client for iperf3), within secs; PeerFailed(what) otherwise."""
    deadline = time.monotonic() + secs
    while not _listening(port):
        if time.monotonic() > deadline:
            log(f"timeout ({secs}s) waiting for a listener on 127.0.0.1:{port}")
            raise PeerFailed(what)
        time.sleep(0.05)


def wait_file(path, secs, what):
    """Until path is a non-empty file, within secs; PeerFailed(what) otherwise."""
    deadline = time.monotonic() + secs
    while True:
        try:
            if path.stat().st_size > 0:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            log(f"timeout ({secs}s) waiting for {path}")
            raise PeerFailed(what)
        time.sleep(0.05)
