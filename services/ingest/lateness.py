"""Event-time lateness (DESIGN §4): an event may still land in a closed month for the allowed
lateness; after that it is `too_late`.

"Now" is stream time: the latest `occurred_at` this ingest process has accepted (never later
than the wall clock plus a tolerance), not the wall clock itself, so a backfill of last year's
history is judged the way it was lived. One watermark for the whole input rather than one per
partition: a partition that has seen nothing yet would otherwise accept anything. The watermark
lives in memory; scoring applies the same rule with its state in MongoDB, so an event that slips
through right after an ingest restart is still refused there.
"""

from datetime import date, datetime, timedelta

from shared.config import CalendarConfig


class LatenessGate:
    """Decides whether an event is too late, or from the future, against stream time."""

    def __init__(self, calendar: CalendarConfig, future_tolerance: timedelta) -> None:
        self._calendar = calendar
        self._future_tolerance = future_tolerance
        self._watermark: datetime | None = None

    def month_close(self, occurred_at: datetime) -> datetime:
        """The instant the local month of `occurred_at` closes (next month's local midnight)."""
        day = self._calendar.local_date(occurred_at)
        first_of_next = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        return self._calendar.local_midnight(first_of_next)

    @property
    def watermark(self) -> datetime | None:
        """Stream time: the latest accepted event time."""
        return self._watermark

    def problem(self, occurred_at: datetime, received_at: datetime) -> tuple[str, str] | None:
        """(reason, detail) when the event cannot be accepted on time grounds, else None."""
        if occurred_at - received_at > self._future_tolerance:
            return (
                "out_of_range",
                f"occurred_at: {occurred_at.isoformat()} is later than the time it was received "
                f"({received_at.isoformat()}) by more than {self._future_tolerance}",
            )
        watermark = self._watermark
        deadline = self.month_close(occurred_at) + self._calendar.allowed_lateness
        if watermark is not None and watermark > deadline:
            return (
                "too_late",
                f"occurred_at: {occurred_at.isoformat()} belongs to a month that closed at "
                f"{self.month_close(occurred_at).isoformat()}; late events are accepted for "
                f"{self._calendar.allowed_lateness_days} days after close, and stream time has "
                f"reached {watermark.isoformat()}",
            )
        return None

    def advance(self, occurred_at: datetime) -> None:
        """Move stream time forward to an accepted event's time."""
        if self._watermark is None or occurred_at > self._watermark:
            self._watermark = occurred_at
