"""A guard against hangs for tests of what must finish (a catastrophic regex, a FIFO with
no writer): not a timing, only a bound far above any normal run."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

#: Seconds before a test that should finish is declared hanging.
HANG_GUARD = 120


@contextmanager
def must_finish(seconds: int = HANG_GUARD) -> Iterator[None]:
    """Fail the test with an AssertionError if the block runs longer than ``seconds``."""

    def hang(signum: int, frame: object) -> None:
        raise AssertionError(f"still running after {seconds} s: it hangs")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
