"""A progress bar on standard error, shown only when standard error is a terminal.

It stays quiet for the first half second, so short runs print nothing, and redraws
at most ten times a second. With a known total size (the bytes of the input files) it
draws a bar; without one (standard input) it counts resources.

    >>> import sys
    >>> progress = Progress(sys.stderr, total_bytes=10_000_000)
    >>> progress.advance(size=4096, invalid=False)
    >>> progress.close()
"""

from __future__ import annotations

import time
from typing import TextIO

_WIDTH = 30
_DELAY = 0.5
_INTERVAL = 0.1


class Progress:
    """Counts validated resources and draws them on ``stream`` if it is a terminal."""

    def __init__(self, stream: TextIO, total_bytes: int | None = None) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.total_bytes = total_bytes or None
        self.bytes = 0
        self.resources = 0
        self.invalid = 0
        self._start = time.monotonic()
        self._drawn_at = 0.0
        self._visible = False

    def advance(self, size: int, invalid: bool) -> None:
        """Record one more resource of ``size`` bytes."""
        self.bytes += size
        self.resources += 1
        self.invalid += invalid
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._start >= _DELAY and now - self._drawn_at >= _INTERVAL:
            self._drawn_at = now
            self._draw()

    def clear(self) -> None:
        """Remove the bar, so that a line written to the terminal is not mixed with it."""
        if self._visible:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._visible = False

    def close(self) -> None:
        self.clear()

    def _draw(self) -> None:
        counts = f"{self.resources} resources, {self.invalid} invalid"
        if self.total_bytes:
            fraction = min(self.bytes / self.total_bytes, 1.0)
            filled = int(fraction * _WIDTH)
            bar = "#" * filled + "." * (_WIDTH - filled)
            line = f"[{bar}] {fraction:4.0%} {counts}"
        else:
            line = counts
        self.stream.write(f"\r{line}\033[K")
        self.stream.flush()
        self._visible = True
