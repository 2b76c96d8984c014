"""The delay line (scripts/bench/delay_relay.py) in front of a port: a long path on loopback."""
import sys
from pathlib import Path

from ..waits import free_ports, wait_listen

RELAY = Path(__file__).resolve().parents[2] / "delay_relay.py"


def start(run, name, target_port, rtt_ms):
    """A relay on a free port that delivers every byte rtt_ms/2 late in each direction (a round
    trip of rtt_ms) to 127.0.0.1:target_port; returns (its process, its port)."""
    port = free_ports(1)[0]
    proc = run.procs.start(name, [sys.executable, RELAY, port, target_port, rtt_ms / 2])
    wait_listen(port, 10, f"delay line {name} did not start")
    return proc, port
