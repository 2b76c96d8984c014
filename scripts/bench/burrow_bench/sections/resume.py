"""resume: how long an open session stalls when the home client's link is cut and restored.
burrow-client -> socat (a process per connection, all killed and started again) ->
burrow-server, TLS on, a tcp proxy to an echo service, and one user connection that sends a
byte and waits for it back, again and again, for the whole run. Each of CUTS rounds kills the
relay, waits CUT_SECONDS and starts it again; the figure is the time from the relay listening
again to the first echo after it (the client's reconnect backoff, its login, the re-attach and
the replay), median and worst of the rounds. The one user connection must outlive every cut."""
import socket
import threading
import time

from ..errors import PeerFailed
from ..peers import burrow
from ..report import fmt, median
from ..report import load_json, write_json
from ..waits import free_ports, wait_listen, wait_log

RESULT_KEY = "resume"
TOOLS = ["socat"]
CUTS = 5
CUT_SECONDS = 3


def budget(s):
    return CUTS * (CUT_SECONDS + 40) + 60


def _echo_server():
    """An echo service on an ephemeral port, in a thread (loopback test traffic only)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def serve(conn):
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    def accept():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener


def _relay(r, n, port, server_port):
    proc = r.procs.start(f"resume-relay{n}", ["socat", "-d", "-d",
                                              f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork",
                                              f"TCP:127.0.0.1:{server_port}"])
    wait_log(proc, r"listening on", 10, "socat relay did not start")
    return proc


class _Pinger:
    """One user connection that echoes a byte every few milliseconds; notes each echo's time."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.last = 0.0
        self.error = None
        self.count = 0
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            while not self._stop:
                self.sock.sendall(b"x")
                if self.sock.recv(1) != b"x":
                    self.error = "the session ended (EOF)"
                    return
                self.last = time.monotonic()
                self.count += 1
                time.sleep(0.002)
        except OSError as e:
            self.error = f"the session failed: {e}"

    def echo_after(self, t0, secs):
        deadline = time.monotonic() + secs
        while time.monotonic() < deadline and self.error is None:
            if self.last > t0:
                return self.last
            time.sleep(0.001)
        return None

    def close(self):
        self._stop = True
        self.thread.join(5)
        self.sock.close()


def run(r):
    echo = _echo_server()
    srv_bin, cli_bin = r.binaries()
    server = burrow.start_server(r, "resume", True, srv_bin, "burrow-server (resume)")
    relay_port = free_ports(1)[0]
    relay = _relay(r, 0, relay_port, server.port)
    client = burrow.start_client(r, "resume", server, cli_bin, "echo", echo.getsockname()[1],
                                 "remote_port = 0", relay_port)
    port = int(wait_log(client, r"\[echo\] proxy up: remote port ([0-9]+)", 20,
                        "burrow-client (resume) did not bring the proxy up").group(1))
    wait_listen(port, 5, f"burrow proxy port {port} not listening")
    pinger = _Pinger(port)
    res = {"cut_seconds": CUT_SECONDS, "gaps_ms": [], "error": None}
    try:
        for n in range(1, CUTS + 1):
            if pinger.echo_after(time.monotonic() - 0.5, 10) is None:
                raise PeerFailed(pinger.error or "no echo before the cut")
            r.procs.stop(relay)
            time.sleep(CUT_SECONDS)
            relay = _relay(r, n, relay_port, server.port)
            t0 = time.monotonic()
            t1 = pinger.echo_after(t0, 40)
            if t1 is None:
                raise PeerFailed(pinger.error or f"no echo within 40 s after restoring cut {n}")
            res["gaps_ms"].append(round((t1 - t0) * 1000))
    except PeerFailed as e:
        res["error"] = str(e)
    res["echoes"] = pinger.count
    pinger.close()
    write_json(r.tmp / "resume.json", res)
    burrow.stop_checked(r, "burrow-client (resume)", client)
    r.procs.stop(relay)
    burrow.stop_checked(r, "burrow-server (resume)", server.proc)
    echo.close()


def report(work, meta):
    res = load_json(work / "resume.json") or {"gaps_ms": [], "error": "no result"}
    gaps = res.get("gaps_ms", [])
    lines = [f"### Resumption: one open session through {CUTS} cuts of the home link "
             f"({res.get('cut_seconds', CUT_SECONDS)} s each, TLS on, default client settings)", "",
             "| figure | value |", "|---|---:|",
             f"| restored -> bytes flowing again, median (ms) | {fmt(median(gaps), 0)} |",
             f"| worst (ms) | {fmt(max(gaps) if gaps else None, 0)} |",
             f"| each cut (ms) | {' '.join(str(g) for g in gaps) or 'n/a'} |",
             f"| the session outlived every cut | {'yes' if len(gaps) == CUTS and not res.get('error') else 'no'} |",
             ""]
    if res.get("error"):
        lines.append(f"- resumption bench failed: {res['error']}\n")
    return lines, res, []
