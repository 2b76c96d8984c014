"""A two-hop socat chain: the plain-TCP-relay comparison for the tcp section."""
from dataclasses import dataclass

from ..waits import free_ports, wait_listen


@dataclass
class Chain:
    procs: list    # last hop first
    port: int      # the first hop's port


def start_chain(run, target_port):
    """127.0.0.1:first -> socat -> 127.0.0.1:second -> socat -> 127.0.0.1:target_port"""
    first, second = free_ports(2)
    procs = []
    for name, listen, to in (("socat2", second, target_port), ("socat1", first, second)):
        procs.append(run.procs.start(name, [
            "socat", f"TCP-LISTEN:{listen},bind=127.0.0.1,fork,reuseaddr", f"TCP:127.0.0.1:{to}"]))
    for port in (second, first):
        wait_listen(port, 10, "socat chain did not start")
    return Chain(procs, first)


def stop(run, chain):
    for proc in reversed(chain.procs):
        run.procs.stop(proc)
