"""A two-hop haproxy chain (HTTP mode, one thread each): the HTTP-relay comparison."""
from dataclasses import dataclass

from ..console import tail
from ..errors import PeerFailed
from ..waits import free_ports, wait_listen


@dataclass
class Chain:
    procs: list    # last hop first
    port: int      # the first hop's port


def _config(listen_port, target_port):
    return f"""global
    nbthread 1
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{listen_port}
    default_backend be
backend be
    server nginx 127.0.0.1:{target_port}
"""


def start_chain(run, target_port):
    """haproxy1 -> haproxy2 -> 127.0.0.1:target_port"""
    first, second = free_ports(2)
    procs = []
    for name, listen, to in (("haproxy2", second, target_port), ("haproxy1", first, second)):
        cfg = run.tmp / f"{name}.cfg"
        cfg.write_text(_config(listen, to))
        procs.append(run.procs.start(name, ["haproxy", "-db", "-f", cfg]))
    try:
        for port in (second, first):
            wait_listen(port, 10, "haproxy chain did not start")
    except PeerFailed as e:
        logs = "".join(tail(p.log_path, 5) for p in procs)
        raise PeerFailed(f"{e}: {logs}") from None
    return Chain(procs, first)


def stop(run, chain):
    for proc in reversed(chain.procs):
        run.procs.stop(proc)
