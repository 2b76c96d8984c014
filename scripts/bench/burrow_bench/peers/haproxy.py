"""A two-hop haproxy chain (HTTP mode, one thread each): the HTTP-relay comparison."""
from . import chain


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
    """127.0.0.1:first -> haproxy1 -> 127.0.0.1:second -> haproxy2 -> 127.0.0.1:target_port"""
    def argv(name, listen, to):
        cfg = run.tmp / f"{name}.cfg"
        cfg.write_text(_config(listen, to))
        return ["haproxy", "-db", "-f", cfg]
    return chain.start(run, target_port, ("haproxy1", "haproxy2"), argv, "haproxy chain did not start")
