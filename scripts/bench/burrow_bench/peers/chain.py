"""A two-hop relay chain in front of a service (socat for tcp, haproxy for http): the
comparison a tunnel with two hops should be measured against."""
from dataclasses import dataclass

from ..console import tail
from ..errors import PeerFailed
from ..waits import free_ports, wait_listen


@dataclass
class Chain:
    procs: list    # last hop first
    port: int      # the first hop's port


def start(run, target_port, names, argv_for, what):
    """names: (first hop, second hop). 127.0.0.1:first -> names[0] -> 127.0.0.1:second ->
    names[1] -> 127.0.0.1:target_port. argv_for(name, listen_port, target_port) -> its command."""
    first, second = free_ports(2)
    procs = [run.procs.start(names[1], argv_for(names[1], second, target_port)),
             run.procs.start(names[0], argv_for(names[0], first, second))]
    try:
        for port in (second, first):
            wait_listen(port, 10, what)
    except PeerFailed:
        raise PeerFailed(f"{what}: " + "".join(tail(p.log_path, 5) for p in procs)) from None
    return Chain(procs, first)


def stop(run, chain):
    for proc in reversed(chain.procs):
        run.procs.stop(proc)
