"""Events from the future (DESIGN §9): an `occurred_at` later than the time ingest received it,
by more than a tolerance for clock skew, is `out_of_range`.

Ingest judges no lateness: whether an event is too late for its period is decided in one place,
scoring, against the watermark of the event's own channel, stored with its state
(shared/watermarks.py). Ingest only stamps each canonical event with its own low watermark.
"""

from datetime import datetime, timedelta


class FutureGate:
    """Refuses events that claim to have happened after they were received."""

    def __init__(self, tolerance: timedelta) -> None:
        self._tolerance = tolerance

    def problem(self, occurred_at: datetime, received_at: datetime) -> tuple[str, str] | None:
        """(reason, detail) when the event lies in the future, else None."""
        if occurred_at - received_at > self._tolerance:
            return (
                "out_of_range",
                f"occurred_at: {occurred_at.isoformat()} is later than the time it was received "
                f"({received_at.isoformat()}) by more than {self._tolerance}",
            )
        return None
