"""A progress bar on a terminal, plain counts otherwise (logs and CI)."""

import time
from typing import TextIO


class Progress:
    """Report how many of `total` items are done."""

    def __init__(self, total: int, stream: TextIO, width: int = 30) -> None:
        self._total = max(total, 1)
        self._stream = stream
        self._width = width
        self._tty = stream.isatty()
        self._last = 0.0

    def update(self, done: int) -> None:
        """Redraw the bar (terminal) or print a count line at most every 2 s (not a terminal)."""
        now = time.monotonic()
        if self._tty:
            filled = int(self._width * min(done, self._total) / self._total)
            bar = "#" * filled + "-" * (self._width - filled)
            self._stream.write(f"\r[{bar}] {done:,}/{self._total:,}")
            self._stream.flush()
        elif now - self._last >= 2.0:
            self._stream.write(f"{done:,}/{self._total:,}\n")
            self._last = now

    def finish(self, done: int) -> None:
        """Final state and a newline on a terminal."""
        self.update(done)
        if self._tty:
            self._stream.write("\n")
