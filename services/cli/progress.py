"""A progress bar on a terminal, plain counts otherwise (logs and CI)."""

import time
from collections.abc import Callable
from typing import TextIO


class Progress:
    """Report how many of `total` items are done (just how many, when `total` is None).

    `label` goes before the figures; with `rate`, the rate since the start follows them
    (``applying [####------] 41,000/68,961 1,150/s``).
    """

    def __init__(
        self,
        total: int | None,
        stream: TextIO,
        width: int = 30,
        *,
        label: str = "",
        rate: bool = False,
        interval_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._known = total is not None
        self._total = max(total or 0, 1)
        self._stream = stream
        self._width = width
        self._tty = stream.isatty()
        self._label = f"{label} " if label else ""
        self._rate = rate
        self._interval_s = interval_s
        self._clock = clock
        self._started = clock()
        self._last = float("-inf")
        self._last_done: int | None = None

    def _figures(self, done: int, now: float) -> str:
        text = f"{done:,}/{self._total:,}" if self._known else f"{done:,}"
        if self._rate and now > self._started:
            text += f" {done / (now - self._started):,.0f}/s"
        return text

    def update(self, done: int) -> None:
        """Redraw the bar (terminal) or print a count line at most every `interval_s` and
        only when the count moved (not a terminal)."""
        now = self._clock()
        if self._tty:
            filled = int(self._width * min(done, self._total) / self._total)
            bar = f"[{'#' * filled}{'-' * (self._width - filled)}] " if self._known else ""
            self._stream.write(f"\r{self._label}{bar}{self._figures(done, now)}")
            self._stream.flush()
        elif now - self._last >= self._interval_s and done != self._last_done:
            self._stream.write(f"{self._label}{self._figures(done, now)}\n")
            self._stream.flush()
            self._last, self._last_done = now, done

    def finish(self, done: int) -> None:
        """Final state, always shown, and a newline on a terminal."""
        self._last, self._last_done = float("-inf"), None
        self.update(done)
        if self._tty:
            self._stream.write("\n")
