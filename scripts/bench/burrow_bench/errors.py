"""The one error that ends a benchmark run: a message for the user, exit status 1."""


class BenchError(Exception):
    pass


class PeerFailed(BenchError):
    """A peer did not come up. Fatal where a section needs it; the http section notes it for
    Burrow's vhost and goes on with the other paths."""
