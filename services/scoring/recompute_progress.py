"""Progress and ETA of a recomputation: how far the new generation has read `kpi.events.v1`.

Pure: the runner feeds it the events applied (the new generation's positions) and the topic's
end, with a monotonic clock; it answers with the rate, the time left and a line for people.
The rate is measured over this run only (a resumed run does not count what an earlier one
applied), and over the last `window_s` seconds once there are that many, so that the ETA
follows a rate that changes (the live stream still arriving, a loaded database).
"""

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reading:
    """One reading: events applied so far of `total` (from the topic's start), at `at`."""

    at: float
    done: int
    total: int


def rate(first: Reading, last: Reading) -> float | None:
    """Events applied per second between two readings (None: no time or nothing between)."""
    seconds = last.at - first.at
    if seconds <= 0 or last.done <= first.done:
        return None
    return (last.done - first.done) / seconds


def eta_seconds(reading: Reading, per_second: float | None) -> float | None:
    """Seconds until `done` reaches `total` at this rate (0 when there; None: not known)."""
    left = reading.total - reading.done
    if left <= 0:
        return 0.0
    if per_second is None or per_second <= 0:
        return None
    return left / per_second


def duration(seconds: float | None) -> str:
    """`45 s`, `3 min 20 s`, `2 h 05 min`; `unknown` for None."""
    if seconds is None:
        return "unknown"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


class Progress:
    """Readings of one run, and the line that reports them."""

    def __init__(self, generation: str, *, window_s: float = 30.0) -> None:
        self._generation = generation
        self._window_s = window_s
        self._readings: deque[Reading] = deque()
        self._first: Reading | None = None

    def add(self, reading: Reading) -> None:
        if self._first is None:
            self._first = reading
        self._readings.append(reading)
        while len(self._readings) > 2 and reading.at - self._readings[1].at >= self._window_s:
            self._readings.popleft()

    @property
    def rate(self) -> float | None:
        """Events per second over the window (or the whole run while it is shorter)."""
        if len(self._readings) < 2:
            return None
        return rate(self._readings[0], self._readings[-1])

    @property
    def overall_rate(self) -> float | None:
        """Events per second since this run began."""
        if self._first is None or not self._readings:
            return None
        return rate(self._first, self._readings[-1])

    def line(self) -> str:
        """`recompute g…: 120,000 of 500,000 events (24.0%), 4,100 events/s, 1 min 33 s left`."""
        if not self._readings:
            return f"recompute {self._generation}: starting"
        last = self._readings[-1]
        share = 100.0 if last.total <= 0 else min(100.0, 100.0 * last.done / last.total)
        per_second = self.rate
        speed = "measuring" if per_second is None else f"{per_second:,.0f} events/s"
        left = duration(eta_seconds(last, per_second))
        return (
            f"recompute {self._generation}: {last.done:,} of {last.total:,} events "
            f"({share:.1f}%), {speed}, {left} left"
        )
