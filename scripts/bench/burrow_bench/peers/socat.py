"""A two-hop socat chain: the plain-TCP-relay comparison for the tcp section."""
from . import chain


def start_chain(run, target_port):
    """127.0.0.1:first -> socat1 -> 127.0.0.1:second -> socat2 -> 127.0.0.1:target_port"""
    def argv(_name, listen, to):
        return ["socat", f"TCP-LISTEN:{listen},bind=127.0.0.1,fork,reuseaddr", f"TCP:127.0.0.1:{to}"]
    return chain.start(run, target_port, ("socat1", "socat2"), argv, "socat chain did not start")
