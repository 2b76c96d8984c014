"""`ssh -R` as a comparison: a private sshd on a loopback port (its own host and client keys in
TMP) and an ssh client that forwards a port on the sshd side to a local service."""
import os
import re
import subprocess
from dataclasses import dataclass

from ..console import log, tail
from ..errors import PeerFailed
from ..waits import free_ports, wait_listen, wait_log

SSHD = "/usr/sbin/sshd"


@dataclass
class Sshd:
    proc: object
    port: int
    keys: object   # the directory with host_key, client_key, authorized_keys


@dataclass
class Forward:
    sshd: Sshd
    proc: object     # the ssh client
    port: int        # the forwarded port, on the sshd side


def _keys(run):
    d = run.tmp / "sshd"
    if not d.exists():
        d.mkdir(mode=0o700)
        for key in ("host_key", "client_key"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / key)],
                           stdin=subprocess.DEVNULL, check=True, timeout=30)
        (d / "authorized_keys").write_bytes((d / "client_key.pub").read_bytes())
    return d


def start_sshd(run, tag):
    keys = _keys(run)
    port = free_ports(1)[0]
    cfg = keys / f"sshd_config-{tag}"
    cfg.write_text(f"""ListenAddress 127.0.0.1
Port {port}
HostKey {keys / 'host_key'}
PidFile {keys / f'sshd-{tag}.pid'}
AuthorizedKeysFile {keys / 'authorized_keys'}
PermitRootLogin yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding yes
GatewayPorts no
X11Forwarding no
PrintMotd no
LogLevel INFO
""")
    if not os.path.isdir("/run/sshd"):   # sshd's privilege separation directory
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        run.made_run_sshd = True
    proc = run.procs.start(f"{tag}-sshd", [SSHD, "-D", "-e", "-f", cfg])
    wait_log(proc, rf"Server listening on 127\.0\.0\.1 port {port}", 10, f"sshd ({tag}) did not start")
    return Sshd(proc, port, keys)


def _client_argv(sshd, port):
    """ssh with this machine's defaults (no config file), our key, to root@127.0.0.1:port."""
    return ["ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "ConnectTimeout=10", "-i", sshd.keys / "client_key", "-p", port]


def _forwarder(run, tag, sshd, forward, ssh_port=None):
    """An ssh client with one forward option (["-R", spec] or ["-L", spec]) and no command."""
    return run.procs.start(f"{tag}-ssh", _client_argv(sshd, ssh_port or sshd.port) + [
        "-N", "-o", "ExitOnForwardFailure=yes", *forward, "root@127.0.0.1"])


def negotiated_cipher(run, sshd):
    """The cipher ssh and this sshd agree on with the defaults the forwards use (ssh -v of a
    session that runs `true`), or None when it cannot be told."""
    out, err = run.tmp / "ssh-cipher.out", run.tmp / "ssh-cipher.err"
    run.procs.run_bounded(20, _client_argv(sshd, sshd.port) + ["-v", "root@127.0.0.1", "true"],
                          out, err)
    m = re.search(r"kex: client->server cipher: (\S+)", err.read_text(errors="replace"))
    return m.group(1) if m else None


def start_forward(run, tag, sshd, target_port, ssh_port=None):
    """ssh -R from a free port on the sshd side to 127.0.0.1:target_port. ssh_port: where the
    ssh client connects (default: the sshd; the long path section puts a delay line there)."""
    proc = _forwarder(run, tag, sshd, ["-R", f"127.0.0.1:0:127.0.0.1:{target_port}"], ssh_port)
    try:
        m = wait_log(proc, r"Allocated port ([0-9]+) for remote forward", 15, f"ssh -R ({tag}) did not come up")
    except PeerFailed:
        log(f"sshd log:\n{tail(sshd.proc.log_path, 20)}")
        raise
    port = int(m.group(1))
    wait_listen(port, 10, f"ssh -R ({tag}) port {port} not listening")
    return Forward(sshd, proc, port)


def start_local_forward(run, tag, sshd, target_port):
    """ssh -L from a free local port, through the sshd, to 127.0.0.1:target_port."""
    port = free_ports(1)[0]
    proc = _forwarder(run, tag, sshd, ["-L", f"127.0.0.1:{port}:127.0.0.1:{target_port}"])
    wait_listen(port, 15, f"ssh -L ({tag}) port {port} not listening")
    return Forward(sshd, proc, port)


def start(run, tag, target_port, dial=None):
    """A private sshd and an ssh -R to target_port through it. dial(sshd_port) -> the port the ssh
    client connects to instead."""
    sshd = start_sshd(run, tag)
    return start_forward(run, tag, sshd, target_port, dial(sshd.port) if dial else None)


def stop(run, fwd):
    run.procs.stop(fwd.proc)
    run.procs.stop(fwd.sshd.proc)
