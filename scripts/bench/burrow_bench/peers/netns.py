"""Network namespaces of one benchmark run, and the NAT lab built of them: the Python side of
tests/natlab/lab.hpp + lab.cpp and tests/e2e/netns.cpp (root; the facts are in NATLAB.md).

Every namespace is named "bn<pid>-<name>" (pid: this tool's), so it never clashes with a test's
("bw<pid>-...") or another run's, and a later run can remove what a killed run left behind.
Processes started in a namespace (`ip netns exec NS program`: ip execs the program, so the pid
is the program's) are the run's processes like any other: logged to TMP/<name>.log, stopped by
pid. close() stops them, then deletes the namespaces; it runs at the section's end and again,
from cleanup_all(), when the run ends, whatever way it ends.

    [srv] eth0 ---- srv [net] site0 ---- wan [r-<site>] lan ---- eth0 [h-<site>]
                          site1 ---- wan [r-<site2>] lan ---- eth0 [h-<site2>]

    srv:    203.0.113.10 and .11 on 203.0.113.0/26, net .1; net routes (ip_forward=1)
    site i (in add_site order): WAN 203.0.113.(64+16i)/28, net .1, router .2;
            LAN 198.51.100.(32i)/27, router .1, host .2

Only documentation ranges, and nothing is connected to the machine's own namespace."""
import ctypes
import os
import re
import shutil
import socket
import subprocess
import threading
import time

from .. import signals
from ..console import log, tail
from ..errors import BenchError, PeerFailed
from ..procs import exited

CLONE_NEWNET = 0x40000000
PREFIX = "bn"
SERVER_ADDR = "203.0.113.10"
SERVER_ALT_ADDR = "203.0.113.11"   # as the tests' lab has it (RFC 5780)
ROUTER_ADDR = "203.0.113.1"        # the internet's side of the server's link
SH_PATH = "PATH=/usr/sbin:/usr/bin:/sbin:/bin; "

# A port-restricted cone NAT (NATLAB.md's "masq"): masquerade, and new connections arriving on
# the WAN dropped in input and forward. Without the input drop an unsolicited probe addressed to
# the router is given a conntrack entry, our own later packet a different port, and the punch
# fails even between two cone NATs.
PORT_RESTRICTED = """table ip natlab {
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "wan" ct state new drop
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "wan" ct state new drop
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" masquerade
  }
}
"""

_open = []     # every Netns not closed yet
_libc = ctypes.CDLL(None, use_errno=True)


def tool(name):
    """The path of ip, nft ... (also where PATH lacks the sbin directories), or None."""
    found = shutil.which(name)
    for path in ([found] if found else []) + [f"/usr/sbin/{name}", f"/sbin/{name}"]:
        if os.access(path, os.X_OK):
            return path
    return None


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def remove_leftovers(ip):
    """Deletes namespaces "bn<pid>-..." whose process is gone (a run killed with SIGKILL)."""
    try:
        names = os.listdir("/run/netns")
    except OSError:
        return
    for name in names:
        m = re.fullmatch(PREFIX + r"([0-9]+)-[a-z0-9-]+", name)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            log(f"removing namespace {name}, left by a run that is gone")
            subprocess.run([ip, "netns", "del", name], capture_output=True, timeout=10)


class Netns:
    """The namespaces one section made, and the processes it started in them."""

    def __init__(self, run, ip):
        self.run = run
        self.ip = ip
        self.prefix = f"{PREFIX}{os.getpid()}-"
        self.made = []           # system names, in creation order
        self.procs = []          # started in them, in start order
        self.log_path = run.tmp / "natlab-setup.log"
        _open.append(self)

    def ns(self, name):
        return self.prefix + name

    def cmd(self, argv):
        """Runs argv to its end (10 s at most), its output to the setup log; BenchError when it
        fails."""
        argv = [str(a) for a in argv]
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=10)
            rc, out = p.returncode, p.stdout + p.stderr
        except subprocess.TimeoutExpired as e:
            rc, out = 124, f"timed out after {e.timeout} s"
        with open(self.log_path, "a") as f:
            f.write(f"$ {' '.join(argv)}\n{out}{'' if rc == 0 else f'(exit {rc})'}\n")
        if rc != 0:
            raise BenchError(f"NAT lab: '{' '.join(argv)[:200]}' failed (exit {rc}): "
                             f"{out.strip()[:300]}")

    def add(self, name):
        self.cmd([self.ip, "netns", "add", self.ns(name)])
        self.made.append(self.ns(name))
        self.sh(name, "ip link set lo up")

    def sh(self, name, line):
        """A /bin/sh command line in namespace name."""
        self.cmd(self.argv(name, ["/bin/sh", "-c", SH_PATH + line]))

    def argv(self, name, argv):
        """argv run in namespace name."""
        return [self.ip, "netns", "exec", self.ns(name)] + list(argv)

    def start(self, proc_name, name, argv):
        """A process in namespace name, as Procs.start runs it (TMP/<proc_name>.log)."""
        proc = self.run.procs.start(proc_name, self.argv(name, argv))
        self.procs.append(proc)
        return proc

    def socket(self, name):
        """A TCP socket of namespace name: made on a thread that entered it (as lab.cpp's
        on_thread_in); it stays there whichever thread uses it."""
        got = {}

        def enter():
            try:
                fd = os.open(f"/run/netns/{self.ns(name)}", os.O_RDONLY | os.O_CLOEXEC)
                try:
                    if _libc.setns(fd, CLONE_NEWNET) != 0:
                        err = ctypes.get_errno()
                        raise OSError(err, f"setns {self.ns(name)}: {os.strerror(err)}")
                finally:
                    os.close(fd)
                got["socket"] = socket.socket()
            except OSError as e:
                got["error"] = e
        t = threading.Thread(target=enter, daemon=True)
        t.start()
        t.join(10)
        if "socket" not in got:
            raise got.get("error") or OSError(f"could not enter namespace {self.ns(name)}")
        return got["socket"]

    def connect(self, name, port):
        """A connection to 127.0.0.1:port inside namespace name (10 s to connect)."""
        s = self.socket(name)
        try:
            s.settimeout(10)
            s.connect(("127.0.0.1", port))
        except OSError:
            s.close()
            raise
        return s

    @staticmethod
    def _listens(proc, port):
        """Whether the namespace proc runs in has a TCP listener on port (/proc/<pid>/net shows
        the process's namespace; a probe connection would count as a client)."""
        hex_port = f":{port:04X}"
        for table in ("tcp", "tcp6"):
            try:
                with open(f"/proc/{proc.pid}/net/{table}") as f:
                    rows = [line.split() for line in f.readlines()[1:]]
            except OSError:
                continue
            if any(row[1].endswith(hex_port) and row[3] == "0A" for row in rows):
                return True
        return False

    def wait_listen(self, proc, port, secs, what):
        """Until something listens on port in proc's namespace, within secs; PeerFailed(what)
        otherwise (or when proc exits first)."""
        deadline = time.monotonic() + secs
        while not self._listens(proc, port):
            if exited(proc) or time.monotonic() > deadline:
                log(f"no listener on port {port} in {proc.name}'s namespace after {secs} s; "
                    f"log {proc.log_path}:\n{tail(proc.log_path, 20)}")
                raise PeerFailed(what)
            time.sleep(0.05)

    def close(self):
        """Stops what runs in the namespaces (reverse start order), then deletes them; Ctrl-C and
        the run's time bound wait until it is done (it is bounded)."""
        if self not in _open:
            return
        with signals.held():
            for proc in reversed(self.procs):
                self.run.procs.stop(proc, grace=3)
            for ns in reversed(self.made):
                try:
                    self.cmd([self.ip, "netns", "del", ns])
                except BenchError as e:
                    log(f"could not delete namespace {ns}: {e}")
            self.made.clear()
            _open.remove(self)


class NatLab(Netns):
    """The internet, a server namespace, and sites: a NAT router and a host behind it."""

    def __init__(self, run, ip):
        super().__init__(run, ip)
        self.sites = []

    @staticmethod
    def wan(i, host):
        return f"203.0.113.{64 + 16 * i + host}"

    @staticmethod
    def lan(i, host):
        return f"198.51.100.{32 * i + host}"

    def build(self):
        """The internet ("net", routing) and the server ("srv")."""
        self.add("net")
        self.add("srv")
        self.cmd([self.ip, "link", "add", "eth0", "netns", self.ns("srv"), "type", "veth", "peer",
                  "name", "srv", "netns", self.ns("net")])
        self.sh("net", f"sysctl -qw net.ipv4.ip_forward=1 && ip addr add {ROUTER_ADDR}/26 dev srv "
                       "&& ip link set srv up")
        self.sh("srv", f"ip addr add {SERVER_ADDR}/26 dev eth0 && ip addr add {SERVER_ALT_ADDR}/26 "
                       f"dev eth0 && ip link set eth0 up && ip route add default via {ROUTER_ADDR}")

    def add_site(self, site, ruleset=PORT_RESTRICTED):
        """A NAT router r-<site> on the internet and a host h-<site> behind it (its default
        route via the router); returns the host's namespace name (short)."""
        i = len(self.sites)
        self.sites.append(site)
        r, h, uplink = f"r-{site}", f"h-{site}", f"site{i}"
        self.add(r)
        self.add(h)
        self.cmd([self.ip, "link", "add", "wan", "netns", self.ns(r), "type", "veth", "peer",
                  "name", uplink, "netns", self.ns("net")])
        self.cmd([self.ip, "link", "add", "eth0", "netns", self.ns(h), "type", "veth", "peer",
                  "name", "lan", "netns", self.ns(r)])
        self.sh("net", f"ip addr add {self.wan(i, 1)}/28 dev {uplink} && ip link set {uplink} up")
        self.sh(r, f"sysctl -qw net.ipv4.ip_forward=1 && nft -f - <<'EOF'\n{ruleset}EOF\n")
        self.sh(r, f"ip addr add {self.wan(i, 2)}/28 dev wan && ip addr add {self.lan(i, 1)}/27 "
                   "dev lan && ip link set wan up && ip link set lan up && "
                   f"ip route add default via {self.wan(i, 1)}")
        self.sh(h, f"ip addr add {self.lan(i, 2)}/27 dev eth0 && ip link set eth0 up && "
                   f"ip route add default via {self.lan(i, 1)}")
        return h

    def flush_conntrack(self):
        """Every router forgets its mappings (conntrack -F), where conntrack is installed."""
        for site in self.sites:
            self.sh(f"r-{site}", "command -v conntrack >/dev/null || exit 0; "
                                 "conntrack -F >/dev/null 2>&1 || true")


def cleanup_all():
    """close() of every Netns still open: for the run's end, after its processes are stopped."""
    for lab in list(_open):
        lab.close()
