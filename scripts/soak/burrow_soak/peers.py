"""The processes of a soak run: the local service, burrow-server, the home burrow-client (a tcp,
an http and a secret proxy, all to the service) and the laptop burrow-client (a visitor of the
secret proxy). Configs are written into the run's temporary directory; readiness is awaited from
log lines, each wait bounded."""
import hashlib
import os
import re
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from burrow_bench.errors import BenchError, PeerFailed
from burrow_bench.procs import exited
from burrow_bench.waits import free_ports

from . import stream
from .console import log, tail

LIMIT = r"open files limit: ([0-9]+)"
SOAK_DIR = Path(__file__).resolve().parents[1]


@dataclass
class Peer:
    label: str                 # as the report names it
    proc: object               # burrow_bench.procs.Proc
    config: Path | None = None


@dataclass
class Topology:
    service: Peer
    service_port: int
    server: Peer
    home: Peer
    laptop: Peer
    ports: dict                # path -> the port a user connects to
    dashboard_port: int
    limits: dict               # label -> open files limit the process logged

    @property
    def burrow(self):
        return [self.server, self.home, self.laptop]


def wait_line(peer, regex, secs, what):
    """The first match of regex in peer's log within secs; PeerFailed(what) when it does not
    come or the process exits first (with the log's last lines shown)."""
    pattern = re.compile(regex, re.M)
    deadline = time.monotonic() + secs
    while True:
        try:
            with open(peer.proc.log_path, errors="replace") as f:
                m = pattern.search(f.read())
            if m:
                return m
        except OSError:
            pass
        gone = exited(peer.proc)
        if gone or time.monotonic() > deadline:
            why = "exited" if gone else f"no /{regex}/ within {secs} s"
            log(f"{peer.label}: {why}; last lines of {peer.proc.log_path.name}:\n"
                f"{tail(peer.proc.log_path, 15)}")
            raise PeerFailed(what)
        time.sleep(0.05)


def _tls_client(fingerprint):
    return (f'enable = true\nserver_fingerprint = "{fingerprint}"' if fingerprint
            else "enable = false")


def start(run, s, binaries):
    """Everything up and ready, or PeerFailed. run: .procs (burrow_bench Procs), .tmp,
    .started (every Proc, for the watchdog)."""
    srv_bin, cli_bin = binaries
    token, secret = secrets.token_hex(16), secrets.token_hex(16)

    def launch(label, name, argv, config=None):
        proc = run.procs.start(name, argv)
        run.started.append(proc)
        return Peer(label, proc, config)

    service = launch("soak service", "service",
                     [sys.executable, "-m", "burrow_soak.service", run.tmp / "pool.bin"])
    service_port = int(wait_line(service, r"soak service listening on 127\.0\.0\.1:([0-9]+)", 30,
                                 "the soak service did not start").group(1))

    vhost_port, dash_port, visit_port = free_ports(3)
    d = run.tmp / "server"
    d.mkdir()
    # The per-source limit stays on (a leak in its count would show as refused connections)
    # but above what the soak opens from 127.0.0.1.
    (d / "server.toml").write_text(
        'bind_addr = "127.0.0.1"\nbind_port = 0\nproxy_bind_addr = "127.0.0.1"\n'
        f'vhost_http_port = {vhost_port}\ndata_dir = "{d / "data"}"\n'
        f"max_connections_per_source = {max(1024, 2 * s.conns)}\n"
        f'[auth]\ntoken = "{token}"\n[tls]\nenable = {"true" if s.tls else "false"}\n'
        f'[dashboard]\naddr = "127.0.0.1"\nport = {dash_port}\n[log]\nlevel = "info"\n')
    server = launch("burrow-server", "server", [srv_bin, "-c", d / "server.toml"],
                    d / "server.toml")
    limits = {server.label: int(wait_line(server, LIMIT, 15,
                                          "burrow-server did not start").group(1))}
    port = int(wait_line(server, r"listening for clients on 127\.0\.0\.1:([0-9]+)", 15,
                         "burrow-server did not listen for clients").group(1))
    wait_line(server, rf"http vhost listening on 127\.0\.0\.1:{vhost_port}\b", 5,
              f"burrow-server's vhost did not listen on {vhost_port}")
    wait_line(server, rf"dashboard on http://127\.0\.0\.1:{dash_port}/", 5,
              f"burrow-server's dashboard did not listen on {dash_port}")
    fingerprint = None
    if s.tls:
        fingerprint = wait_line(server, r"TLS certificate fingerprint: (sha256:[0-9a-fA-F:]+)", 5,
                                "burrow-server logged no fingerprint").group(1)

    def client_config(tag, client_id, tables):
        path = run.tmp / tag / "client.toml"
        path.parent.mkdir()
        path.write_text(
            f'server_addr = "127.0.0.1"\nserver_port = {port}\nclient_id = "{client_id}"\n'
            f'[auth]\ntoken = "{token}"\n[tls]\n{_tls_client(fingerprint)}\n'
            f'[log]\nlevel = "info"\n{tables}')
        return path

    def launch_client(label, tag, cfg):
        peer = launch(label, tag, [cli_bin, "-c", cfg], cfg)
        limits[label] = int(wait_line(peer, LIMIT, 15, f"the {tag} burrow-client did not start")
                            .group(1))
        return peer

    cfg = client_config("home", "soak-home", (
        f'[[proxies]]\nname = "soak-tcp"\ntype = "tcp"\nlocal_port = {service_port}\n'
        f'remote_port = 0\n'
        f'[[proxies]]\nname = "soak-http"\ntype = "http"\nlocal_port = {service_port}\n'
        f'custom_domains = ["{stream.HTTP_HOST}"]\n'
        f'[[proxies]]\nname = "soak-secret"\ntype = "secret"\nlocal_port = {service_port}\n'
        f'secret_key = "{secret}"\nallow_clients = ["soak-laptop"]\n'))
    home = launch_client("burrow-client (home)", "home", cfg)
    ups = {}
    for name in ("soak-tcp", "soak-http", "soak-secret"):
        m = wait_line(home, rf"\[{name}\] proxy (up: (.*)|rejected: (.*))$", 20,
                      f"the home burrow-client did not bring {name} up")
        if m.group(3) is not None:
            raise PeerFailed(f"{name} rejected: {m.group(3)}")
        ups[name] = m.group(2)
    tcp_port = int(re.fullmatch(r"remote port ([0-9]+)", ups["soak-tcp"]).group(1))

    cfg = client_config("laptop", "soak-laptop", (
        f'[[visitors]]\nname = "soak-visit"\nserver_name = "soak-secret"\n'
        f'server_client = "soak-home"\nsecret_key = "{secret}"\nbind_addr = "127.0.0.1"\n'
        f"bind_port = {visit_port}\n"))
    laptop = launch_client("burrow-client (laptop)", "laptop", cfg)
    wait_line(laptop, rf"\[soak-visit\] visitor listening on 127\.0\.0\.1:{visit_port}\b", 15,
              f"the visitor did not listen on {visit_port}")
    wait_line(laptop, r"logged in to 127\.0\.0\.1:", 20, "the laptop burrow-client did not log in")
    return Topology(service, service_port, server, home, laptop,
                    {"tcp": tcp_port, "http": vhost_port, "visitor": visit_port}, dash_port, limits)


def admin_sockets(tmp):
    """Where the home and laptop clients keep their admin sockets (README "Command line"): a
    client that dies without its cleanup leaves its socket there."""
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or "/tmp")
    for tag in ("home", "laptop"):
        config = str(tmp / tag / "client.toml")          # as the client was given it
        yield base / f"burrow-client-{hashlib.sha256(config.encode()).hexdigest()[:16]}.sock"


def check_limits(topo, needed):
    """Each Burrow process must be able to hold `needed` descriptors (it logs its limit)."""
    low = [f"{label}: {n}" for label, n in topo.limits.items() if n < needed]
    if low:
        raise BenchError(f"open files limit below the {needed} this run needs ({', '.join(low)}); "
                         "raise the hard limit (ulimit -Hn) or lower SOAK_CONNS")
