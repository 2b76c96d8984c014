"""Progress lines on stderr; the report itself goes to stdout."""
import sys
import time


def log(msg):
    print(f"[soak {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def tail(path, n):
    """The last n lines of a text file ('' if it cannot be read); reads only the end."""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 16384))
            return b"".join(f.read().splitlines(keepends=True)[-n:]).decode(errors="replace")
    except OSError:
        return ""
