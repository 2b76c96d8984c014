"""The paths the tcp and latency sections measure side by side, all up at once: direct, a two-hop
socat chain, `ssh -R`, Burrow tcp with TLS off and on, and (with BURROW_BASELINE_BIN) the baseline
build's Burrow TLS off and on, each in front of one service port."""
from dataclasses import dataclass

from . import burrow, chain, socat, ssh

# (key, label) in report order; the baseline's only when that build is measured.
PATHS = [
    ("direct", "direct"),
    ("socat", "socat 2-hop chain"),
    ("ssh", "ssh -R"),
    ("burrow_plain", "Burrow tcp, TLS off"),
    ("burrow_tls", "Burrow tcp, TLS on"),
]
BASELINE_PATHS = [("base_plain", "Burrow tcp, TLS off, baseline build"),
                  ("base_tls", "Burrow tcp, TLS on, baseline build")]
TOOLS = ["socat", "ssh", "ssh-keygen", ssh.SSHD]


def count(s):
    return len(PATHS) + (len(BASELINE_PATHS) if s.baseline_bin else 0)


@dataclass
class Path:
    key: str
    port: int      # where a user connects
    pids: list     # the processes that carry it (none for direct)


class Paths:
    """Starts every path to 127.0.0.1:service_port; `prefix` tags this section's processes and
    logs (Burrow's tags: PREFIXplain, PREFIXtls, PREFIXplainbase, PREFIXtlsbase)."""

    def __init__(self, r, service_port, prefix, proxy_name):
        self._r = r
        self._chain = socat.start_chain(r, service_port)
        self._fwd = ssh.start(r, prefix or "tcp", service_port)
        self._plain = burrow.start_tcp(r, f"{prefix}plain", False, proxy_name, service_port)
        self._tls = burrow.start_tcp(r, f"{prefix}tls", True, proxy_name, service_port)
        self._bases = []
        if r.settings.baseline_bin:
            self._bases = [burrow.start_tcp(r, f"{prefix}{tag}base", tls, proxy_name, service_port,
                                            baseline=True)
                           for tag, tls in (("plain", False), ("tls", True))]
        pairs = [self._plain, self._tls] + self._bases
        keys = [k for k, _ in PATHS[3:] + BASELINE_PATHS]
        self.all = [Path("direct", service_port, []),
                    Path("socat", self._chain.port, [p.pid for p in self._chain.procs]),
                    Path("ssh", self._fwd.port, [self._fwd.proc.pid, self._fwd.sshd.proc.pid])]
        self.all += [Path(key, pair.remote_port, [pair.client.pid, pair.server.proc.pid])
                     for key, pair in zip(keys, pairs)]

    def ssh_cipher(self):
        """The cipher `ssh -R` runs with (see ssh.negotiated_cipher)."""
        return ssh.negotiated_cipher(self._r, self._fwd.sshd)

    def stop(self):
        """The baseline's first, then the comparisons, then Burrow's under test (checked)."""
        for pair in self._bases:
            burrow.stop_pair(self._r, pair)
        chain.stop(self._r, self._chain)
        ssh.stop(self._r, self._fwd)
        burrow.stop_pair(self._r, self._plain, "TLS off")
        burrow.stop_pair(self._r, self._tls, "TLS on")
