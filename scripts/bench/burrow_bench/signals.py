"""The signals that end a run (Ctrl-C, TERM, HUP, and the run's own time bound, SIGALRM) become
exceptions, so that every `finally` runs and cleanup() stops what was started. Around a start
they are held back (a process started but not yet registered would outlive the run): Python
runs handlers between bytecodes, so a held signal is recorded and raised once the start is done.
The signal mask itself stays untouched, as children would inherit it."""
import signal
from contextlib import contextmanager

from .errors import BenchError

_ENDING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM)


class Interrupted(Exception):
    pass


class _state:
    held = 0
    pending = None


def _raise_for(signum):
    if signum == signal.SIGALRM:
        raise BenchError("the run took longer than its bound; stopping")
    raise Interrupted(signal.Signals(signum).name)


def _on_signal(signum, _frame):
    if _state.held:
        _state.pending = _state.pending or signum
        return
    _raise_for(signum)


def catch():
    for sig in _ENDING:
        signal.signal(sig, _on_signal)


def ignore():
    """For the cleanup: nothing may interrupt it (it is bounded)."""
    signal.alarm(0)
    for sig in _ENDING:
        signal.signal(sig, signal.SIG_IGN)


@contextmanager
def held():
    _state.held += 1
    try:
        yield
    finally:
        _state.held -= 1
        if not _state.held and _state.pending:
            signum, _state.pending = _state.pending, None
            _raise_for(signum)
