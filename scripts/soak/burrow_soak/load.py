"""The load: SOAK_CONNS slots, each running one transfer after another through its path until
the phase ends, every transfer checked. asyncio, one thread; a transfer is a BufferedProtocol
that compares each piece as it arrives (no body is ever held).

A transfer passes when the service's answer names the n and seed asked for, exactly n body
bytes arrive, each equal to the recomputed stream, their SHA-256 equals the one the service
announced, and the connection then ends cleanly (EOF, no byte more). Anything else is an error
of one kind (see Transfer.fail calls), counted per path with the first examples kept.
"""
import asyncio
import errno
import hashlib
import math
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from . import stream

PATHS = ("tcp", "http", "visitor")
LABELS = {"tcp": "tcp proxy", "http": "http proxy (vhost)", "visitor": "visitor -> secret"}
PIECE = 64 << 10          # read size; larger pieces cost page faults on every copy
MAX_HEADER = 16 << 10
EXAMPLES = 20             # error examples kept
# Response header fields that must come once (others a proxy may repeat).
FRAMING = (b"content-length", b"transfer-encoding", b"x-soak-seed", b"x-soak-sha256")


@dataclass
class PathStats:
    ok: int = 0
    bytes: int = 0
    failed: int = 0


@dataclass
class Stats:
    paths: dict = field(default_factory=lambda: {p: PathStats() for p in PATHS})
    errors: Counter = field(default_factory=Counter)       # (path, kind) -> count
    examples: list = field(default_factory=list)           # "path kind: detail"

    def passed(self, path, n):
        self.paths[path].ok += 1
        self.paths[path].bytes += n

    def failed(self, path, kind, detail):
        self.paths[path].failed += 1
        self.errors[(path, kind)] += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(f"{path} {kind}: {detail}")

    @property
    def conns(self):
        return sum(p.ok for p in self.paths.values())

    @property
    def bytes(self):
        return sum(p.bytes for p in self.paths.values())

    @property
    def error_count(self):
        return sum(self.errors.values())


_BUF = bytearray(PIECE)       # shared: get_buffer, recv_into and buffer_updated run back to back
_VIEW = memoryview(_BUF)


class Transfer(asyncio.BufferedProtocol):
    """One connection: sends the request, reads the header and the body, ends in one result."""

    def __init__(self, pool, path, n, seed):
        self.pool = pool                      # the pool as bytes
        self.path, self.n, self.seed = path, n, seed
        self.http = path == "http"
        self.head = bytearray()
        self.in_body = False
        self.received = 0
        self.sha = hashlib.sha256()
        self.announced = None                 # the service's SHA-256
        self.first_diff = None                # offset of the first byte unlike the stream
        self.eof = False
        self.transport = None
        self.local_port = None
        self.last = time.monotonic()
        self.result = asyncio.get_running_loop().create_future()   # (kind, detail) or None

    # -- the end: exactly once --
    def fail(self, kind, detail=""):
        if not self.result.done():
            where = (f"n={self.n} seed={self.seed} got {self.received} B, "
                     f"local port {self.local_port}")
            self.result.set_result((kind, f"{detail}{'; ' if detail else ''}{where}"))
        if self.transport is not None:
            self.transport.abort()

    def _finish(self):
        if self.first_diff is not None:
            return self.fail("mismatch", f"first byte unlike the stream at offset "
                             f"{self.first_diff}; EOF after {self.received} of {self.n} bytes")
        if self.received != self.n:
            return self.fail("short body", f"EOF after {self.received} of {self.n} body bytes")
        if self.sha.hexdigest() != self.announced:
            return self.fail("mismatch", "sha256 differs from the service's")
        if not self.result.done():
            self.result.set_result(None)
        self.transport.close()

    # -- asyncio callbacks --
    def connection_made(self, transport):
        self.transport = transport
        self.local_port = (transport.get_extra_info("sockname") or ("", None))[1]
        transport.write(stream.http_request(self.n, self.seed) if self.http
                        else stream.plain_request(self.n, self.seed))

    def get_buffer(self, sizehint):
        return _VIEW

    def buffer_updated(self, nbytes):
        self.last = time.monotonic()
        if self.result.done():
            return
        data = _VIEW[:nbytes]
        if not self.in_body:
            self.head += data
            body = self._header()
            if body is None or self.result.done():
                return
            data = memoryview(body)
        self._body(data)

    def eof_received(self):
        self.eof = True
        if not self.result.done():
            if not self.in_body:
                self.fail("closed before the answer", f"{len(self.head)} header bytes")
            else:
                self._finish()
        return False

    def connection_lost(self, exc):
        if self.result.done():
            return
        if exc is None:
            self.eof_received()
        elif isinstance(exc, ConnectionResetError):
            self.fail("reset", "before the answer" if not self.in_body else "in the body")
        else:
            self.fail(f"lost: {type(exc).__name__}", str(exc))

    # -- parsing --
    def _header(self):
        """The body bytes that came with the header once it is complete, else None."""
        end = self.head.find(b"\r\n\r\n" if self.http else b"\n")
        if end < 0:
            if len(self.head) > MAX_HEADER:
                self.fail("bad answer", f"no header end in {len(self.head)} bytes")
            return None
        head, body = bytes(self.head[:end]), bytes(self.head[end + (4 if self.http else 1):])
        self.head = bytearray()
        if self.http:
            self._http_header(head)
        else:
            self._plain_header(head)
        if self.result.done():
            return None
        self.in_body = True
        return body

    def _plain_header(self, head):
        parts = head.split()
        if len(parts) != 4 or parts[0] != b"OK":
            return self.fail("bad answer", f"service answered {head[:80]!r}")
        if parts[1:3] != [b"%d" % self.n, b"%d" % self.seed]:
            return self.fail("bad answer", f"answer for another request: {head[:80]!r}")
        self.announced = parts[3].decode("ascii", "replace")

    def _http_header(self, head):
        lines = head.split(b"\r\n")
        status = lines[0].split(b" ", 2)
        if len(status) < 2 or not status[0].startswith(b"HTTP/1."):
            return self.fail("bad answer", f"status line {lines[0][:80]!r}")
        if status[1] != b"200":
            return self.fail(f"http {status[1].decode('ascii', 'replace')}", f"{lines[0][:80]!r}")
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            key = name.strip().lower()
            if key in fields and key in FRAMING:
                return self.fail("bad answer", f"header {key!r} twice")
            fields[key] = value.strip()
        if fields.get(b"content-length") != b"%d" % self.n:
            return self.fail("bad answer", f"Content-Length {fields.get(b'content-length')!r}")
        if fields.get(b"x-soak-seed") != b"%d" % self.seed:
            return self.fail("bad answer", f"X-Soak-Seed {fields.get(b'x-soak-seed')!r}")
        if b"transfer-encoding" in fields:
            return self.fail("bad answer", "Transfer-Encoding added")
        self.announced = fields.get(b"x-soak-sha256", b"").decode("ascii", "replace")

    def _body(self, data):
        take = min(len(data), self.n - self.received)
        if take:
            got = data[:take]
            if self.first_diff is None:
                self._compare(got)
            self.sha.update(got)
            self.received += take
        if take < len(data):
            if self.first_diff is not None:
                return self.fail("mismatch", f"first byte unlike the stream at offset "
                                 f"{self.first_diff}, and bytes past the end")
            return self.fail("extra bytes", f"{len(data) - take} bytes past the end")
        if self.received == self.n and self.eof:
            self._finish()

    def _compare(self, got):
        """Against the recomputed stream; notes where the first unlike byte is."""
        at = 0
        for pos, take in stream.pieces(self.seed + self.received, len(got)):
            want = self.pool[pos:pos + take]
            have = got[at:at + take].tobytes()
            if want != have:
                i = next(k for k in range(take) if want[k] != have[k])
                self.first_diff = self.received + at + i
                return
            at += take


def _errno_kind(e):
    name = errno.errorcode.get(e.errno, str(e.errno)) if e.errno else type(e).__name__
    return f"connect {name}"


class Load:
    """The slots of one phase. `end` may be moved earlier (a Burrow process died)."""

    def __init__(self, pool, ports, conns, min_bytes, max_bytes, stall, rng):
        self.pool, self.ports, self.conns = pool, ports, conns
        self.log_min, self.log_max = math.log(min_bytes), math.log(max_bytes + 1)
        self.max_bytes = max_bytes
        self.stall = stall
        self.rng = rng
        self.active = set()
        self.end = 0.0

    def size(self):
        return min(self.max_bytes, int(math.exp(self.rng.uniform(self.log_min, self.log_max))))

    async def one(self, path, stats):
        n, seed = self.size(), self.rng.getrandbits(63)
        loop = asyncio.get_running_loop()
        t = Transfer(self.pool, path, n, seed)
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can lose a cancellation that
            # comes as the connect completes, and the slot would run on past a Ctrl-C.
            async with asyncio.timeout(self.stall):
                await loop.create_connection(lambda: t, "127.0.0.1", self.ports[path])
        except TimeoutError:
            return stats.failed(path, "connect timeout", f"n={n} seed={seed}")
        except OSError as e:
            return stats.failed(path, _errno_kind(e), f"n={n} seed={seed}")
        self.active.add(t)
        try:
            res = await t.result
        finally:
            self.active.discard(t)
            if t.result.cancelled() or not t.result.done():   # the phase is being torn down
                t.transport.abort()
        if res is None:
            stats.passed(path, n)
        else:
            stats.failed(path, *res)

    async def slot(self, i, stats):
        path = PATHS[i % len(PATHS)]
        await asyncio.sleep(i / self.conns)          # ramp up over a second, not a readiness wait
        while time.monotonic() < self.end:
            errors = stats.paths[path].failed
            await self.one(path, stats)
            if stats.paths[path].failed != errors:
                await asyncio.sleep(0.05)            # no hot loop against a refused port

    async def watch_stalls(self):
        while True:
            await asyncio.sleep(1)
            now = time.monotonic()
            for t in list(self.active):
                if now - t.last > self.stall:
                    where = ("waiting for the answer" if not t.in_body else "in the body"
                             if t.received < t.n else "after the last byte, waiting for the end")
                    t.fail("stall", f"no byte for {self.stall} s {where}")

    async def run(self, seconds, stats, drain):
        """Until `seconds` have passed (or `end` moved), then until the transfers in flight end,
        at most `drain` seconds; those still open then are cut and count as errors."""
        self.end = time.monotonic() + seconds
        stalls = asyncio.ensure_future(self.watch_stalls())
        slots = [asyncio.ensure_future(self.slot(i, stats)) for i in range(self.conns)]
        try:
            while time.monotonic() < self.end:
                await asyncio.sleep(min(0.2, max(0.0, self.end - time.monotonic())))
            _, pending = await asyncio.wait(slots, timeout=drain)
            for t in list(self.active):
                t.fail("not done at the drain bound", f"{drain} s after the phase ended")
            if pending:
                await asyncio.wait(pending, timeout=5)
        finally:
            self.end = 0.0                   # a slot that outlives its cancel stops at its turn
            for s in slots:
                s.cancel()
            stalls.cancel()
            await asyncio.gather(*slots, stalls, return_exceptions=True)


def new_rng():
    seed = random.SystemRandom().getrandbits(32)
    return seed, random.Random(seed)
