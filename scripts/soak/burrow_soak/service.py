"""The local service behind every proxy of the soak test, run as its own process:
`python3 -m burrow_soak.service POOL_FILE`. It writes the pool to POOL_FILE (bodies go out with
sendfile from it, so sending costs this process almost nothing but the SHA-256 it announces),
listens on an ephemeral 127.0.0.1 port and says so on stdout:
`soak service listening on 127.0.0.1:PORT`. Requests are described in stream.py. Standard
library only; asyncio, one thread.
"""
import asyncio
import json
import sys
import urllib.parse
from collections import Counter

from . import stream

MAX_LINE = 8192        # a request line or header line
MAX_HEADERS = 100


class Counters:
    def __init__(self):
        self.open = 0
        self.accepted = 0
        self.requests = Counter()   # plain, http
        self.bytes = Counter()
        self.errors = Counter()

    def as_json(self, own=1):
        return json.dumps({"open": self.open - own, "accepted": self.accepted,
                           "requests": dict(self.requests), "bytes": dict(self.bytes),
                           "errors": dict(self.errors)}).encode() + b"\n"


class Service:
    def __init__(self, pool, pool_file):
        self.view = memoryview(pool)
        self.file = pool_file
        self.c = Counters()

    async def send_stream(self, writer, seed, n):
        """The stream's bytes from the pool file, after whatever the writer holds."""
        loop = asyncio.get_running_loop()
        for pos, take in stream.pieces(seed, n):
            await loop.sendfile(writer.transport, self.file, pos, take, fallback=False)

    async def plain(self, line, writer):
        try:
            _, n_text, seed_text = line.split()
            n, seed = int(n_text), int(seed_text)
        except ValueError:
            self.c.errors["bad plain request"] += 1
            return
        writer.write(b"OK %d %d %s\n" % (n, seed, stream.digest(self.view, seed, n).encode()))
        await self.send_stream(writer, seed, n)
        self.c.requests["plain"] += 1
        self.c.bytes["plain"] += n

    async def http(self, line, reader, writer):
        """Exchanges on one connection until the peer closes it or asks to close."""
        while line:
            parts = line.split()
            close = len(parts) != 3 or parts[2] != b"HTTP/1.1"
            for _ in range(MAX_HEADERS):
                h = await reader.readline()
                if not h:
                    return                    # the peer went away mid-request
                if h in (b"\r\n", b"\n"):
                    break
                name, _, value = h.partition(b":")
                if name.strip().lower() == b"connection" and b"close" in value.lower():
                    close = True
            else:
                self.c.errors["http: too many header lines"] += 1
                return
            if not await self.answer(parts, writer):
                return
            if close:
                return
            line = await reader.readline()

    async def answer(self, parts, writer):
        """One response; False when the connection must end (a request we do not serve)."""
        try:
            url = urllib.parse.urlsplit(parts[1].decode("ascii"))
            q = urllib.parse.parse_qs(url.query)
            n, seed = int(q["n"][0]), int(q["seed"][0])
            if parts[0] != b"GET" or url.path != "/bytes" or n < 0:
                raise ValueError
        except (ValueError, KeyError, IndexError, UnicodeDecodeError):
            self.c.errors["http: bad request"] += 1
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                         b"Connection: close\r\n\r\n")
            return False
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                     b"Content-Length: %d\r\nX-Soak-Seed: %d\r\nX-Soak-Sha256: %s\r\n\r\n"
                     % (n, seed, stream.digest(self.view, seed, n).encode()))
        await self.send_stream(writer, seed, n)
        self.c.requests["http"] += 1
        self.c.bytes["http"] += n
        return True

    async def handle(self, reader, writer):
        self.c.open += 1
        self.c.accepted += 1
        try:
            line = await reader.readline()
            if line.startswith(b"SEND "):
                await self.plain(line, writer)
            elif line.startswith(b"GET ") or line.startswith(b"HEAD "):
                await self.http(line, reader, writer)
            elif line == b"STATS\n":
                writer.write(self.c.as_json())
            elif line:
                self.c.errors["unknown request"] += 1
        except ValueError:            # a line over the reader's limit
            self.c.errors["line too long"] += 1
        except (ConnectionError, OSError, asyncio.IncompleteReadError) as e:
            self.c.errors[f"{type(e).__name__} while serving"] += 1
        finally:
            self.c.open -= 1
            writer.close()


async def serve(pool_path):
    pool = stream.make_pool()
    with open(pool_path, "wb") as f:
        f.write(pool)
    with open(pool_path, "rb") as pool_file:
        svc = Service(pool, pool_file)
        server = await asyncio.start_server(svc.handle, "127.0.0.1", 0, backlog=4096,
                                            limit=MAX_LINE)
        port = server.sockets[0].getsockname()[1]
        print(f"soak service listening on 127.0.0.1:{port}", flush=True)
        async with server:
            await server.serve_forever()


def main():
    if len(sys.argv) != 2:
        print("usage: python3 -m burrow_soak.service POOL_FILE", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(sys.argv[1]))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
