"""When periods close, with no I/O: the close clock and the periods it has closed.

Periods close by the clock, not by the next event: a timer asks the close clock what time it
is, and every period whose end has passed is closed for every entity, quiet ones included.
The close clock is scoring's low watermark (the minimum event time over its active input
channels, shared/watermarks.py), and once no batch has been committed for the
idle time it runs on at wall-clock speed from the last commit: live, that makes it the wall
clock, so a month closes at its local midnight even if nothing happens overnight; in a backfill
of last year, it follows the slowest active channel, so a month closes only once every channel
that is still delivering has passed its end. It never moves back.
"""

from dataclasses import replace
from datetime import datetime, timedelta

from services.scoring.read_model import GroupClock
from shared.kpi.fiscal_calendar import FiscalCalendar, PeriodKind, parse_period

# A month closes before the quarter, half and fiscal year it ends.
_KIND_ORDER = (PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.HALF, PeriodKind.FISCAL_YEAR)


class CloseClock:
    """Scoring's settled event time (`GroupClock.settled`), running on at wall-clock speed from
    the last commit once the pipeline has been quiet for the idle time; never moving back."""

    def __init__(self, idle_after: timedelta = timedelta(seconds=30)) -> None:
        self._idle_after = idle_after
        self._settled: datetime | None = None
        self._moved_at: datetime | None = None
        self._now: datetime | None = None

    @property
    def time(self) -> datetime | None:
        """The time it last told (None before scoring's first commit)."""
        return self._now

    def now(
        self,
        reading: GroupClock | None,
        wall: datetime,
        *,
        upstream_idle: bool = True,
        caught_up: bool = False,
    ) -> datetime | None:
        """The close clock's time, given scoring's clock and the wall clock. With
        `upstream_idle` False (ingest has records left to read) the pipeline is not quiet,
        however long scoring has waited: the clock stays at scoring's low watermark. With
        `caught_up` (scoring's positions were seen at the end of every partition of its input)
        the backlog flag of scoring's last commit is stale and does not count."""
        if reading is None:
            return self._now
        if caught_up and reading.backlog:
            reading = replace(reading, backlog=False)
        quiet = upstream_idle and reading.quiet(wall, self._idle_after)
        settled = reading.settled(wall, self._idle_after) if quiet else reading.low
        if settled is None:
            return self._now
        if self._settled is None or settled != self._settled:
            self._settled, self._moved_at = settled, wall
        now = settled
        if quiet:
            last = reading.committed_at or self._moved_at
            assert last is not None
            now = settled + max(wall - last, timedelta(0))
        if self._now is None or now > self._now:
            self._now = now
        return self._now


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
    """The first month of the fiscal year of `stream_time` (the earliest event applied, when
    known): where reporting starts closing."""
    fiscal_year = calendar.fiscal_year_of_month(calendar.month_of(stream_time))
    return calendar.months_of(fiscal_year)[0]
