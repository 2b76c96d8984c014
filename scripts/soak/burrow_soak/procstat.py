"""What /proc says about a process: resident memory, open descriptors (and what kinds, to tell a
leak's nature), threads, and the open-files limit."""
import os
from collections import Counter
from dataclasses import dataclass

TCP_STATES = {"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1",
              "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT",
              "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING"}


@dataclass
class Sample:
    rss_kib: int | None
    fds: int | None
    threads: int | None

    @property
    def ok(self):
        return None not in (self.rss_kib, self.fds, self.threads)


def sample(pid):
    """VmRSS (KiB), the count of /proc/PID/fd, and Threads; None for what could not be read
    (the process is gone)."""
    rss = threads = fds = None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("Threads:"):
                    threads = int(line.split()[1])
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, ValueError):
        pass
    return Sample(rss, fds, threads)


def nofile_limit(pid):
    """(soft, hard) open-files limit of pid, from /proc/PID/limits; None for unlimited."""
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return (None if soft == "unlimited" else int(soft),
                        None if hard == "unlimited" else int(hard))
    return None, None


def _sockets(pid):
    """socket inode -> 'tcp STATE' / 'tcp6 STATE' / 'unix' / 'udp', from the process's net
    namespace tables."""
    kinds = {}
    for table in ("tcp", "tcp6", "udp", "udp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                next(f)
                for line in f:
                    fields = line.split()
                    state = TCP_STATES.get(fields[3], fields[3]) if table.startswith("tcp") else ""
                    kinds[fields[9]] = f"{table} {state}".strip()
        except (OSError, StopIteration, IndexError):
            continue
    try:
        with open(f"/proc/{pid}/net/unix") as f:
            next(f)
            for line in f:
                fields = line.split()
                if len(fields) >= 7:
                    kinds[fields[6]] = "unix"
    except (OSError, StopIteration):
        pass
    return kinds


def fd_kinds(pid):
    """Counter of what pid's descriptors are: 'tcp ESTABLISHED', 'pipe', 'anon_inode:[eventfd]',
    'file', ... (empty when the process is gone)."""
    out = Counter()
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return out
    sockets = None
    for name in names:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            out["closed while listed"] += 1
            continue
        if target.startswith("socket:["):
            if sockets is None:
                sockets = _sockets(pid)
            out[sockets.get(target[8:-1], "socket (other)")] += 1
        elif target.startswith("pipe:"):
            out["pipe"] += 1
        elif target.startswith("anon_inode:"):
            out[target] += 1
        elif target.startswith("/dev/"):
            out[target] += 1
        else:
            out["file"] += 1
    return out
