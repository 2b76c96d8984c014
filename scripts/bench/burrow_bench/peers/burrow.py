"""burrow-server and burrow-client as the benchmark runs them: written configs, started, stopped."""
import subprocess
import time
from dataclasses import dataclass

from ..context import TOKEN
from ..console import tail
from ..errors import PeerFailed
from ..waits import free_ports, wait_listen, wait_log

LISTENING = r"listening for clients on 127\.0\.0\.1:([0-9]+)"
FINGERPRINT = r"TLS certificate fingerprint: (sha256:[0-9a-fA-F:]+)"


def has_visitors(bin_dir):
    """Whether the build in bin_dir runs visitors (builds before them, such as be820b6, do not):
    its burrow-client's help names the `connect` command."""
    try:
        out = subprocess.run([str(bin_dir / "burrow-client"), "--help"], capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "burrow-client connect" in out.stdout + out.stderr


@dataclass
class Server:
    proc: object
    port: int                  # where it listens for clients
    fingerprint: str | None    # with TLS on


@dataclass
class Visit:
    server: Server
    home: object               # runs the proxies
    laptop: object             # runs the visitor
    tcp_port: int | None       # the home client's tcp proxy on the server side (with_tcp)
    visit_port: int            # the visitor's local port


@dataclass
class P2PVisit:
    server: Server
    home: object               # runs the secret proxy, p2p = true
    laptop: object             # runs both visitors
    laptop_config: object      # its client.toml, for `burrow-client status -c`
    direct_port: int           # local port of the visitor with p2p = true ("vdirect")
    relay_port: int            # local port of the visitor with p2p = false ("vrelay")


@dataclass
class Pair:
    server: Server
    client: object
    remote_port: int | None    # the tcp proxy's port on the server side


def _dir(run, tag):
    d = run.tmp / tag
    d.mkdir(parents=True, exist_ok=True)
    return d


def start_server(run, tag, tls, binary, name, vhost_port=None):
    """burrow-server on an ephemeral 127.0.0.1 port; stopped again and PeerFailed when it does
    not come up (name starts the message)."""
    d = _dir(run, tag)
    vhost = f"vhost_http_port = {vhost_port}\n" if vhost_port else ""
    (d / "server.toml").write_text(
        'bind_addr = "127.0.0.1"\nbind_port = 0\nproxy_bind_addr = "127.0.0.1"\n' + vhost +
        f'data_dir = "{d / "data"}"\n[auth]\ntoken = "{TOKEN}"\n'
        f"[tls]\nenable = {'true' if tls else 'false'}\n")
    proc = run.procs.start(f"{tag}-server", [binary, "-c", d / "server.toml", "-l", "info"])
    try:
        port = int(wait_log(proc, LISTENING, 15, f"{name} did not start").group(1))
        fp = wait_log(proc, FINGERPRINT, 5, f"{name} logged no fingerprint").group(1) if tls else None
        if vhost_port:
            wait_log(proc, rf"http vhost listening on 127\.0\.0\.1:{vhost_port}", 5,
                     f"{name} logged no 'http vhost listening on 127.0.0.1:{vhost_port}'")
    except PeerFailed:
        run.procs.stop(proc)
        raise
    return Server(proc, port, fp)


def start_client(run, tag, server, binary, proxy_name, local_port, proxy_lines, server_port=None,
                 tables=None):
    """burrow-client for one proxy, dialing server_port (default: the server's own; the long
    path section puts a delay line there); `tables` replaces the proxy with [[proxies]] and
    [[visitors]] tables of its own."""
    tls = (f'enable = true\nserver_fingerprint = "{server.fingerprint}"' if server.fingerprint
           else "enable = false")
    if tables is None:
        tables = f'[[proxies]]\nname = "{proxy_name}"\nlocal_port = {local_port}\n{proxy_lines}\n'
    (_dir(run, tag) / "client.toml").write_text(
        f'server_addr = "127.0.0.1"\nserver_port = {server_port or server.port}\n'
        f'client_id = "bench-{tag}"\n[auth]\ntoken = "{TOKEN}"\n[tls]\n{tls}\n'
        f"[transport]\npool_count = 8\n{tables}")
    return run.procs.start(f"{tag}-client", [binary, "-c", run.tmp / tag / "client.toml", "-l", "info"])


def start_tcp(run, tag, tls, proxy_name, local_port, baseline=False, dial=None):
    """A server and a client with one tcp proxy (remote port 0) to 127.0.0.1:local_port, its
    work-stream pool filled. dial(server_port) -> the port the client dials instead (a delay
    line in front of the server). PeerFailed when it does not come up."""
    srv_bin, cli_bin = run.binaries(baseline)
    server = start_server(run, tag, tls, srv_bin, f"burrow-server ({tag})")
    client = start_client(run, tag, server, cli_bin, proxy_name, local_port, "remote_port = 0",
                          dial(server.port) if dial else None)
    m = wait_log(client, rf"\[{proxy_name}\] proxy up: remote port ([0-9]+)", 20,
                 f"burrow-client ({tag}) did not bring the proxy up")
    port = int(m.group(1))
    wait_listen(port, 5, f"burrow proxy port {port} not listening")
    time.sleep(1)   # let the client fill its work-stream pool
    return Pair(server, client, port)


def start_visit(run, tag, tls, local_port, secret, baseline=False, dial=None, with_tcp=True):
    """A server, a home client with a secret proxy (and, with_tcp, a tcp proxy) to
    127.0.0.1:local_port, and a laptop client with a visitor of the secret one; dial(server_port)
    -> the port the laptop dials instead (a delay line in front of the server)."""
    srv_bin, cli_bin = run.binaries(baseline)
    server = start_server(run, tag, tls, srv_bin, f"burrow-server ({tag})")
    tcp = (f'[[proxies]]\nname = "iperf"\nlocal_port = {local_port}\nremote_port = 0\n'
           if with_tcp else "")
    home = start_client(run, f"{tag}-home", server, cli_bin, None, None, None, tables=(
        tcp + f'[[proxies]]\nname = "iperf-secret"\ntype = "secret"\nlocal_port = {local_port}\n'
        f'secret_key = "{secret}"\n'))
    tcp_port = None
    if with_tcp:
        tcp_port = int(wait_log(home, r"\[iperf\] proxy up: remote port ([0-9]+)", 20,
                                f"burrow-client ({tag}-home) did not bring the tcp proxy up").group(1))
    wait_log(home, r"\[iperf-secret\] proxy up: secret", 20,
             f"burrow-client ({tag}-home) did not bring the secret proxy up")
    visit_port = free_ports(1)[0]
    laptop = start_client(run, f"{tag}-laptop", server, cli_bin, None, None, None,
                          server_port=dial(server.port) if dial else None, tables=(
        f'[[visitors]]\nname = "v"\nserver_name = "iperf-secret"\nsecret_key = "{secret}"\n'
        f'bind_port = {visit_port}\n'))
    wait_log(laptop, r"logged in to", 20, f"burrow-client ({tag}-laptop) did not log in")
    wait_listen(visit_port, 5, f"visitor port {visit_port} not listening")
    if tcp_port:
        wait_listen(tcp_port, 5, f"burrow proxy port {tcp_port} not listening")
    time.sleep(1)   # let the home client fill its work-stream pool
    return Visit(server, home, laptop, tcp_port, visit_port)


def start_p2p_visit(run, tag, local_port, secret, baseline=False):
    """A server (TLS on; its rendezvous on any free UDP pair, as bind_port = 0 gives), a home
    client with a secret proxy (p2p = true) to 127.0.0.1:local_port, and a laptop client with two
    visitors of it: "vdirect" (p2p = true: its first connection starts the punch and goes over
    the relay, later ones go direct once QUIC is up) and "vrelay" (p2p = false: always the
    relay). Nothing is punched yet when this returns. PeerFailed when a peer does not come up."""
    srv_bin, cli_bin = run.binaries(baseline)
    server = start_server(run, tag, True, srv_bin, f"burrow-server ({tag})")
    wait_log(server.proc, r"rendezvous \(STUN\) on udp 127\.0\.0\.1:[0-9]+ and [0-9]+", 5,
             f"burrow-server ({tag}) runs no rendezvous")
    home = start_client(run, f"{tag}-home", server, cli_bin, None, None, None, tables=(
        f'[[proxies]]\nname = "iperf-secret"\ntype = "secret"\nlocal_port = {local_port}\n'
        f'secret_key = "{secret}"\np2p = true\n'))
    wait_log(home, r"\[iperf-secret\] proxy up: secret", 20,
             f"burrow-client ({tag}-home) did not bring the secret proxy up")
    direct_port, relay_port = free_ports(2)
    laptop = start_client(run, f"{tag}-laptop", server, cli_bin, None, None, None, tables=(
        f'[[visitors]]\nname = "vdirect"\nserver_name = "iperf-secret"\nsecret_key = "{secret}"\n'
        f'bind_port = {direct_port}\np2p = true\n'
        f'[[visitors]]\nname = "vrelay"\nserver_name = "iperf-secret"\nsecret_key = "{secret}"\n'
        f'bind_port = {relay_port}\np2p = false\n'))
    wait_log(laptop, r"logged in to", 20, f"burrow-client ({tag}-laptop) did not log in")
    for port in (direct_port, relay_port):
        wait_listen(port, 5, f"visitor port {port} not listening")
    return P2PVisit(server, home, laptop, run.tmp / f"{tag}-laptop" / "client.toml", direct_port,
                    relay_port)


def stop_visit(run, v, label=None):
    """Laptop, home, then server; with a label, checked (Burrow under test), else just stopped."""
    for name, proc in (("burrow-client (visitor", v.laptop), ("burrow-client (home", v.home),
                       ("burrow-server (visitor", v.server.proc)):
        if label:
            stop_checked(run, f"{name}, {label})", proc)
        else:
            run.procs.stop(proc)


def start_http(run, tag, proxy_name, local_port, domain, vhost_port, baseline=False):
    """A server with vhost_http_port and a client with one type="http" proxy for domain (TLS
    off). When either does not come up: stops what it started, PeerFailed(why)."""
    srv_bin, cli_bin = run.binaries(baseline)
    server = start_server(run, tag, False, srv_bin, "burrow-server", vhost_port)
    client = start_client(run, tag, server, cli_bin, proxy_name, local_port,
                          f'type = "http"\ncustom_domains = ["{domain}"]')
    try:
        m = wait_log(client, rf"\[{proxy_name}\] proxy (up: http://|rejected: (.*))", 20,
                     "burrow-client did not bring the http proxy up")
        if m.group(2) is not None:
            raise PeerFailed(f"proxy rejected: {m.group(2)}")
        wait_listen(vhost_port, 5, f"vhost port {vhost_port} not listening")
    except PeerFailed:
        run.procs.stop(client)
        run.procs.stop(server.proc)
        raise
    time.sleep(1)   # let the client fill its work-stream pool
    return Pair(server, client, None)


def stop_checked(run, name, proc):
    """Stop a Burrow process, noting a crash, a slow stop or a bad exit status."""
    res = run.procs.stop(proc, grace=5)
    if res.exited_before:
        run.note(f"{name} exited on its own before the end of its test (exit status {res.rc}); "
                 "last log lines:")
        run.add_problem_lines(tail(proc.log_path, 5))
        return
    if res.killed:
        run.note(f"{name} did not exit within 5 s of SIGTERM; killed")
    if res.rc not in (0, 143):
        run.note(f"{name} exit status {res.rc} after SIGTERM")


def stop_pair(run, pair, label=None):
    """Client before server; with a label, checked (Burrow under test), else just stopped."""
    if label:
        stop_checked(run, f"burrow-client ({label})", pair.client)
        stop_checked(run, f"burrow-server ({label})", pair.server.proc)
    else:
        run.procs.stop(pair.client)
        run.procs.stop(pair.server.proc)
