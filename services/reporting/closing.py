"""When periods close, with no I/O: the close clock and the periods it has closed.

Periods close by the clock, not by the next event: a timer asks the close clock what time it
is, and every period whose end has passed is closed for every entity, quiet ones included.
The close clock is the scoring stream time (the latest event time applied) that keeps ticking
at wall-clock speed while the stream is quiet: live, it is the wall clock, so a month closes at
its local midnight even if nothing happens overnight; in a replay of last year, it follows the
replayed events, so each month closes once its events have been applied.
"""

from datetime import datetime, timedelta

from services.scoring.domain.fiscal_calendar import FiscalCalendar, PeriodKind, parse_period

# A month closes before the quarter, half and fiscal year it ends.
_KIND_ORDER = (PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.HALF, PeriodKind.FISCAL_YEAR)


class CloseClock:
    """Stream time plus the wall-clock time since it last moved."""

    def __init__(self) -> None:
        self._stream_time: datetime | None = None
        self._moved_at: datetime | None = None

    def now(self, stream_time: datetime | None, wall: datetime) -> datetime | None:
        """The close clock's time, given the current stream time and wall clock."""
        if stream_time is None:
            return None
        if self._stream_time is None or stream_time != self._stream_time:
            self._stream_time, self._moved_at = stream_time, wall
        assert self._moved_at is not None
        return stream_time + max(wall - self._moved_at, timedelta(0))


def _months_between(first: str, last: str) -> list[str]:
    year, month = map(int, first.split("-"))
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def closed_periods(calendar: FiscalCalendar, horizon: str, now: datetime) -> list[str]:
    """Every month, quarter, half and fiscal year from the horizon month whose end `now` has
    reached, in the order they closed (a month before the quarter it ends)."""
    periods: dict[str, datetime] = {}
    for month in _months_between(horizon, calendar.month_of(now)):
        for period in (month, *calendar.periods_of_month(month)):
            if period not in periods and calendar.is_closed(period, now):
                periods[period] = calendar.period_close(period)
    return sorted(periods, key=lambda p: (periods[p], _KIND_ORDER.index(parse_period(p).kind)))


def horizon_of(calendar: FiscalCalendar, stream_time: datetime) -> str:
    """The first month of the fiscal year of `stream_time`: where reporting starts closing."""
    fiscal_year = calendar.fiscal_year_of_month(calendar.month_of(stream_time))
    return calendar.months_of(fiscal_year)[0]
