"""nginx serving a 1 KiB file: the service behind every path of the http section."""
import os
from dataclasses import dataclass

from ..console import tail
from ..errors import PeerFailed
from ..waits import wait_listen

NGINX = "/usr/sbin/nginx"


@dataclass
class Nginx:
    proc: object
    port: int
    file: object   # www/1k.bin: what every path must return


def start(run, port):
    d = run.tmp / "nginx"
    (d / "www").mkdir(parents=True)
    (d / "tmp").mkdir()
    (d / "www" / "1k.bin").write_bytes(os.urandom(1024))
    # As root, nginx's worker would drop to nobody, which cannot enter the 0700 temp dir.
    user_line = "user root;" if os.getuid() == 0 else ""
    (d / "nginx.conf").write_text(f"""{user_line}
worker_processes 1;
pid {d}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    server {{
        listen 127.0.0.1:{port};
        root {d}/www;
    }}
}}
""")
    # The master stops its worker itself: a TERM to the worker first would only get it respawned.
    proc = run.procs.start("nginx", [NGINX, "-p", d, "-c", d / "nginx.conf", "-e", "stderr",
                                     "-g", "daemon off;"], master=True)
    try:
        wait_listen(port, 10, "nginx did not start")
    except PeerFailed as e:
        raise PeerFailed(f"{e}: {tail(proc.log_path, 5)}") from None
    return Nginx(proc, port, d / "www" / "1k.bin")
