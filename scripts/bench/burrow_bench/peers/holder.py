"""The memory test's peers: a holder service that accepts and holds TCP connections (run as its
own process: `python3 holder.py PORT_FILE COUNT_FILE`), and the opener that opens N connections
to it through Burrow. Standard library only, no package imports: the holder runs as a script."""
import asyncio
import os
import socket
import sys
import time


def write_text(path, text):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


async def hold(port_file, count_file):
    """Accept on an ephemeral 127.0.0.1 port (written to port_file) and keep every connection
    open until its peer closes it; count_file says '<open> <accepted>'."""
    state = {"open": 0, "accepted": 0, "dirty": True}

    async def handle(reader, writer):
        state["open"] += 1
        state["accepted"] += 1
        state["dirty"] = True
        try:
            while await reader.read(65536):
                pass
        except (ConnectionError, OSError):
            pass
        finally:
            state["open"] -= 1
            state["dirty"] = True
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    write_text(count_file, "0 0\n")
    write_text(port_file, f"{port}\n")
    while True:
        if state["dirty"]:
            state["dirty"] = False
            write_text(count_file, f"{state['open']} {state['accepted']}\n")
        await asyncio.sleep(0.05)


def read_count(count_file):
    """Connections the holder has open now; -1 when its file cannot be read."""
    try:
        with open(count_file) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return -1


def open_conns(port, n, count_file, timeout, sample):
    """Open n connections to 127.0.0.1:port (1 byte each) in batches, each batch only once the
    holder has the previous ones (never more than the server's pending-connection limit),
    then sample() with every one still held. Returns (sample's result plus counts, the open
    sockets, an error or None); the caller closes the sockets."""
    deadline = time.monotonic() + timeout
    base = read_count(count_file)
    socks = []
    t0 = time.monotonic()
    try:
        while len(socks) < n:
            for _ in range(min(50, n - len(socks))):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"opened only {len(socks)} of {n} connections in {timeout} s")
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                socks.append(s)
                s.sendall(b"x")
            while read_count(count_file) - base < len(socks):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"only {read_count(count_file) - base} of {len(socks)} "
                                       "connections reached the local service")
                time.sleep(0.02)
        open_secs = time.monotonic() - t0
        time.sleep(1.0)  # let both processes settle
        held = read_count(count_file) - base   # none dropped meanwhile
        res = sample()
        res.update({"connections": n, "held": held, "open_seconds": round(open_secs, 2)})
        return res, socks, None
    except Exception as e:  # noqa: BLE001 - report, don't hang
        err = f"{type(e).__name__}: {e}"
        res = sample()
        res.update({"connections": n, "held": read_count(count_file) - base,
                    "opened": len(socks), "error": err})
        return res, socks, err


if __name__ == "__main__":
    try:
        asyncio.run(hold(sys.argv[1], sys.argv[2]))
    except KeyboardInterrupt:
        pass
