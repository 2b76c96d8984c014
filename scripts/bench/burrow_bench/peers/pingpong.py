"""1-byte ping-pong: an echo server every latency path ends at, and the timed exchange through a
path, with the voluntary context switches (thread wake-ups) the path's own processes made."""
import os
import socket
import sys
import time

from .. import procs
from ..errors import PeerFailed
from ..waits import wait_listen

# A thread per connection, TCP_NODELAY, each read echoed at once.
ECHO = """
import socket, sys, threading
def serve(c):
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with c:
        while (b := c.recv(65536)):
            c.sendall(b)
s = socket.create_server(("127.0.0.1", int(sys.argv[1])))
while True:
    threading.Thread(target=serve, args=(s.accept()[0],), daemon=True).start()
"""


def start_echo(run, port):
    proc = run.procs.start("echo", [sys.executable, "-c", ECHO, port])
    wait_listen(port, 10, "the echo server did not start")
    return proc


def switches(pids):
    """Voluntary context switches, summed over every thread of pids and their descendants."""
    total = 0
    for p in procs.tree(pids):
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{p}/task/{task}/status") as f:
                    for line in f:
                        if line.startswith("voluntary_ctxt_switches:"):
                            total += int(line.split()[1])
            except OSError:
                pass
    return total


def measure(port, count, warmup, pids):
    """count timed round trips of one byte through 127.0.0.1:port (after warmup untimed ones):
    (sorted round-trip times in µs, voluntary switches of pids' trees per round trip)."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
    except OSError as e:
        raise PeerFailed(f"ping-pong: cannot connect to port {port}: {e}") from None
    with s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        byte = b"x"

        def once():
            s.sendall(byte)
            if not s.recv(1):
                raise PeerFailed(f"ping-pong: port {port} closed the connection")
        try:
            for _ in range(warmup):
                once()
            before = switches(pids)
            times = []
            clock = time.perf_counter_ns
            for _ in range(count):
                t0 = clock()
                once()
                times.append((clock() - t0) / 1000)
            after = switches(pids)
        except (OSError, socket.timeout) as e:
            raise PeerFailed(f"ping-pong through port {port}: {e}") from None
    return sorted(times), (after - before) / count if pids else 0.0


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]
