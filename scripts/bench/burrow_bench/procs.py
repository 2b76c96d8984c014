"""Every process the benchmark starts, and how each one ends.

Each process runs in a process group of its own (its pid is the group id), so a Ctrl-C at the
terminal reaches only this tool, which then stops its processes in order. A group, not a session:
the kernel's autogroup scheduler shares the CPU between sessions, and a session per peer would
change how the two cores are shared among peers (and against other users) from what the shell
version measured. A process is stopped
by its pid: its direct children first (socat's and sshd's per-connection forks; sshd's call
setsid, so they are not in its group), then the process, then whatever is left in its group
(nginx's worker, iperf3's helpers). Until that last step the stopped process is left unreaped,
so its pid (and thus its group id) cannot have been handed to anyone else. Every wait is bounded.
"""
import os
import signal
import subprocess
import time
from dataclasses import dataclass

from . import signals


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    master: bool     # stops its own children (nginx): gets no children-first TERM
    log_path: object

    @property
    def pid(self):
        return self.popen.pid


@dataclass
class Stopped:
    rc: int               # as a shell shows it: 128 + signal for a killed process
    exited_before: bool   # it had already exited when asked to stop
    killed: bool          # it ignored SIGTERM for the whole grace period


def _stat(pid):
    """The fields of /proc/PID/stat from the 3rd (state) on, or None once it is gone. The command
    name may hold blanks and parentheses: the fields start after the last ')'."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2:].split()


def _children_by_parent():
    """{parent pid: [child pids]} over every process in /proc (not every kernel has
    /proc/PID/task/TID/children)."""
    kids = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(entry)) and len(fields) > 1:
            kids.setdefault(int(fields[1]), []).append(int(entry))
    return kids


def children(pid):
    """Direct children of pid, read from /proc."""
    return _children_by_parent().get(pid, [])


def tree(pids):
    """pids and every descendant (sshd's and socat's per-connection processes among them)."""
    kids = _children_by_parent()
    found, todo = [], list(pids)
    while todo:
        p = todo.pop()
        found.append(p)
        todo += kids.get(p, [])
    return found


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    """User + system CPU seconds spent so far by pids and their descendants, every thread
    counted (a process's stat sums its threads), and the children they have reaped (socat's
    per-connection processes end with their connection)."""
    ticks = 0
    for p in tree(pids):
        if fields := _stat(p):
            ticks += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime (14th-17th)
    return ticks / _TICK


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _signal_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def exited(proc):
    """True once proc has exited; does not reap it (WNOWAIT)."""
    if proc.popen.returncode is not None:
        return True
    try:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _wait_exit(proc, secs):
    deadline = time.monotonic() + secs
    while not exited(proc):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _term(proc):
    """SIGTERM to proc's direct children (unless it stops its own), up to 1 s for them to go,
    then SIGTERM to proc."""
    kids = [] if proc.master else children(proc.pid)
    for kid in kids:
        _signal(kid, signal.SIGTERM)
    deadline = time.monotonic() + 1
    while kids and time.monotonic() < deadline and children(proc.pid):
        time.sleep(0.05)
    _signal(proc.pid, signal.SIGTERM)


def _kill(proc):
    for kid in children(proc.pid):
        _signal(kid, signal.SIGKILL)
    _signal(proc.pid, signal.SIGKILL)
    _wait_exit(proc, 5)


def _reap(proc):
    """Kill what is left in proc's group (its pid is still held), then reap it."""
    if proc.popen.returncode is None:
        _signal_group(proc.pid, signal.SIGKILL)
    rc = proc.popen.wait()
    return 128 - rc if rc < 0 else rc


class Procs:
    def __init__(self, tmp):
        self._tmp = tmp
        self._all = []   # in start order

    def start(self, name, argv, master=False):
        """Run argv in the background, stdout and stderr to TMP/NAME.log."""
        log_path = self._tmp / f"{name}.log"
        with signals.held(), open(log_path, "wb") as out:
            popen = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.STDOUT, process_group=0)
            proc = Proc(name, popen, master, log_path)
            self._all.append(proc)
        return proc

    def run_bounded(self, secs, argv, out_path, err_path):
        """Run argv to its end, bounded to secs (then TERM, and KILL 3 s later); returns its exit
        status, 124 on timeout (as timeout(1) does)."""
        with signals.held(), open(out_path, "wb") as out, open(err_path, "wb") as err:
            popen = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=err, process_group=0)
            proc = Proc(os.path.basename(str(argv[0])), popen, False, err_path)
            self._all.append(proc)
        if _wait_exit(proc, secs):
            return _reap(proc)
        self.stop(proc, grace=3)
        return 124

    def stop(self, proc, grace=5.0):
        """Stop one process we started: children first, then it; KILL after grace seconds."""
        if exited(proc):
            return Stopped(_reap(proc), exited_before=True, killed=False)
        _term(proc)
        killed = not _wait_exit(proc, grace)
        if killed:
            _kill(proc)
        return Stopped(_reap(proc), exited_before=False, killed=killed)

    def cleanup(self):
        """End everything still running: TERM in reverse start order (tunnel clients before their
        servers, children before parents), one shared 3 s grace, then KILL."""
        running = [p for p in reversed(self._all) if not exited(p)]
        for proc in running:
            _term(proc)
        deadline = time.monotonic() + 3
        for proc in running:
            if not _wait_exit(proc, max(0.0, deadline - time.monotonic())):
                _kill(proc)
        for proc in self._all:
            if proc.popen.returncode is None:
                _reap(proc)
