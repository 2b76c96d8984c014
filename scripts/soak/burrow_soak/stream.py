"""The deterministic byte streams the service sends and the checker expects, and the two request
forms that ask for one.

A stream is named by (n, seed): n bytes of a fixed 16 MiB pool of pseudo-random bytes
(random.Random(POOL_SEED)), read circularly from position seed mod 16 MiB. The service and the
checker each build the same pool, so either can recompute any stream; the service also sends
the stream's SHA-256 ahead of it (what it says it sends), and the checker compares both the
digest and every byte. Seeds are random 63-bit numbers, so two connections open at once carry
different streams and bytes delivered to the wrong connection cannot match.

Requests, one per connection (plain) or one per exchange (HTTP, keep-alive allowed):
  plain:  "SEND <n> <seed>\\n"  ->  "OK <n> <seed> <sha256 hex>\\n", the n bytes, then close
  HTTP:   "GET /bytes?n=<n>&seed=<seed> HTTP/1.1"  ->  200 with Content-Length: n,
          X-Soak-Seed: <seed>, X-Soak-Sha256: <hex>, the n bytes
  stats:  "STATS\\n"  ->  one JSON line of the service's counters, then close
"""
import hashlib
import random

POOL_SIZE = 16 << 20
POOL_SEED = 0x50A4_B0_77
HTTP_HOST = "soak.test"


def make_pool():
    """The 16 MiB pool (0.3 s to build)."""
    return random.Random(POOL_SEED).randbytes(POOL_SIZE)


def pieces(seed, n):
    """The stream (n, seed) as (pool position, length) pieces, in order."""
    pos = seed % POOL_SIZE
    while n > 0:
        take = min(n, POOL_SIZE - pos)
        yield pos, take
        n -= take
        pos = 0


def digest(pool_view, seed, n):
    """SHA-256 (hex) of the stream (n, seed)."""
    h = hashlib.sha256()
    for pos, take in pieces(seed, n):
        h.update(pool_view[pos:pos + take])
    return h.hexdigest()


def plain_request(n, seed):
    return b"SEND %d %d\n" % (n, seed)


def http_request(n, seed):
    return (b"GET /bytes?n=%d&seed=%d HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
            b"User-Agent: burrow-soak\r\n\r\n" % (n, seed, HTTP_HOST.encode()))
