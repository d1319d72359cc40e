"""Periods of the fiscal calendar (DESIGN §4, §11): months, quarters, halves, fiscal years and
rolling N-day windows, with their local-midnight bounds.

Names: month ``2024-03``, fiscal year ``FY2023`` (named by the calendar year it starts in),
half ``FY2023-H1``, quarter ``FY2023-Q1``, rolling window ``R30D``; local days ``2024-03-31``
appear as counter buckets. Every boundary is a local midnight in the configured time zone, so
``2023-03-31T15:30Z`` is already April (and FY2023) in Tokyo.
"""

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Final

from shared.config.calendar import CalendarConfig


class PeriodKind(StrEnum):
    """The kinds of named period; each is a whole number of local calendar months."""

    MONTH = "month"
    QUARTER = "quarter"
    HALF = "half"
    FISCAL_YEAR = "fiscal_year"

    @property
    def months(self) -> int:
        """How many months a period of this kind spans."""
        return _MONTHS[self]


_MONTHS: Final = {
    PeriodKind.MONTH: 1,
    PeriodKind.QUARTER: 3,
    PeriodKind.HALF: 6,
    PeriodKind.FISCAL_YEAR: 12,
}
_MONTH_RE: Final = re.compile(r"([1-9]\d{3})-(0[1-9]|1[0-2])")
_DAY_RE: Final = re.compile(r"[1-9]\d{3}-\d{2}-\d{2}")
_FISCAL_RE: Final = re.compile(r"FY([1-9]\d{3})(?:-([QH])([1-4]))?")
_WINDOW_RE: Final = re.compile(r"R([1-9]\d{0,2})D")
_PERIOD_FORMS: Final = (
    "a month (2024-03), fiscal quarter (FY2023-Q1), fiscal half (FY2023-H1) or fiscal year (FY2023)"
)


@dataclass(frozen=True, slots=True)
class Period:
    """A parsed period name.

    `year` is the calendar year for a month and the fiscal year otherwise; `number` is the
    month (1–12), quarter (1–4) or half (1–2), and 1 for a fiscal year.
    """

    kind: PeriodKind
    year: int
    number: int

    @property
    def name(self) -> str:
        """The period's canonical name, e.g. ``2024-03`` or ``FY2023-Q4``."""
        if self.kind is PeriodKind.MONTH:
            return f"{self.year:04d}-{self.number:02d}"
        if self.kind is PeriodKind.QUARTER:
            return f"FY{self.year:04d}-Q{self.number}"
        if self.kind is PeriodKind.HALF:
            return f"FY{self.year:04d}-H{self.number}"
        return f"FY{self.year:04d}"


def parse_period(name: str) -> Period:
    """Parse a month, quarter, half or fiscal-year name; `ValueError` saying what is expected."""
    if month := _MONTH_RE.fullmatch(name):
        return Period(PeriodKind.MONTH, int(month[1]), int(month[2]))
    if fiscal := _FISCAL_RE.fullmatch(name):
        year = int(fiscal[1])
        if fiscal[2] is None:
            return Period(PeriodKind.FISCAL_YEAR, year, 1)
        part = int(fiscal[3])
        if fiscal[2] == "Q":
            return Period(PeriodKind.QUARTER, year, part)
        if part <= 2:
            return Period(PeriodKind.HALF, year, part)
    if _WINDOW_RE.fullmatch(name):
        raise ValueError(
            f"{name!r} is a rolling window, not a period with fixed bounds; "
            "use rolling_window(name, as_of)"
        )
    raise ValueError(f"period {name!r} is not {_PERIOD_FORMS}")


def is_window(name: str) -> bool:
    """Whether a period name is a rolling window such as ``R30D``."""
    return _WINDOW_RE.fullmatch(name) is not None


def parse_window(name: str) -> int:
    """The length in days of a rolling window name such as ``R30D`` (1–999 days)."""
    match = _WINDOW_RE.fullmatch(name)
    if match is None:
        raise ValueError(
            f"rolling window {name!r} is not written R<days>D with 1–999 days, e.g. R30D"
        )
    return int(match[1])


_MAX_MONTHS_KEPT = 20_000  # dates whose month is remembered (55 years of days)


def _month_index(year: int, month: int) -> int:
    """Months since year 0: consecutive months have consecutive indexes."""
    return year * 12 + month - 1


def _month_name(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


class FiscalCalendar:
    """Period arithmetic for one `CalendarConfig` (fiscal-year start month, zone, lateness)."""

    __slots__ = ("_config", "_last_local", "_months", "_start")

    def __init__(self, config: CalendarConfig) -> None:
        self._config = config
        self._start = config.fiscal_year_start_month
        # Scoring asks for the month and the day of one event's instant three times in a row,
        # and for the months of a few hundred dates a year, thousands of times a second.
        self._last_local: tuple[datetime | None, date | None] = (None, None)
        self._months: dict[date, str] = {}

    @property
    def config(self) -> CalendarConfig:
        return self._config

    parse_period = staticmethod(parse_period)

    # -- months and days of instants --------------------------------------------------------

    def month_of(self, moment: datetime) -> str:
        """The local calendar month of an aware instant, e.g. ``2024-03``."""
        return self.month_of_date(self.local_day(moment))

    def day_of(self, moment: datetime) -> str:
        """The local date of an aware instant, e.g. ``2024-03-31``."""
        return self.local_day(moment).isoformat()

    def local_day(self, moment: datetime) -> date:
        """`CalendarConfig.local_date`, remembered for the last instant asked (the same object)."""
        last, day = self._last_local
        if moment is last and day is not None:
            return day
        day = self._config.local_date(moment)
        self._last_local = (moment, day)
        return day

    def month_of_date(self, day: date) -> str:
        """The month a date falls in, e.g. ``2024-03``."""
        month = self._months.get(day)
        if month is None:
            if len(self._months) >= _MAX_MONTHS_KEPT:
                self._months.clear()
            month = self._months[day] = f"{day.year:04d}-{day.month:02d}"
        return month

    # -- the fiscal periods a month belongs to ----------------------------------------------

    def _fiscal_position(self, month: str) -> tuple[int, int]:
        """(fiscal year, months since its start 0–11) of a month name."""
        period = parse_period(month)
        if period.kind is not PeriodKind.MONTH:
            raise ValueError(f"{month!r} is not a month; write it YYYY-MM, e.g. 2024-03")
        offset = (period.number - self._start) % 12
        # A month before the start month belongs to the fiscal year that began last year.
        fiscal_year = period.year if period.number >= self._start else period.year - 1
        return fiscal_year, offset

    @functools.lru_cache(maxsize=8192)  # noqa: B019 - one calendar per process; pure
    def fiscal_year_of_month(self, month: str) -> str:
        """``2024-03`` → ``FY2023`` with an April start, ``FY2024`` with a January start."""
        fiscal_year, _ = self._fiscal_position(month)
        return Period(PeriodKind.FISCAL_YEAR, fiscal_year, 1).name

    def quarter_of_month(self, month: str) -> str:
        """``2024-03`` → ``FY2023-Q4`` with an April start."""
        fiscal_year, offset = self._fiscal_position(month)
        return Period(PeriodKind.QUARTER, fiscal_year, offset // 3 + 1).name

    def half_of_month(self, month: str) -> str:
        """``2024-03`` → ``FY2023-H2`` with an April start."""
        fiscal_year, offset = self._fiscal_position(month)
        return Period(PeriodKind.HALF, fiscal_year, offset // 6 + 1).name

    @functools.lru_cache(maxsize=8192)  # noqa: B019 - one calendar per process; pure
    def periods_of_month(self, month: str) -> tuple[str, ...]:
        """The month itself, then its quarter, half and fiscal year."""
        return (
            parse_period(month).name,
            self.quarter_of_month(month),
            self.half_of_month(month),
            self.fiscal_year_of_month(month),
        )

    @functools.lru_cache(maxsize=8192)  # noqa: B019 - one calendar per process; pure
    def bucket_fiscal_year(self, bucket: str) -> str:
        """The fiscal year a counter bucket (month, local day or named period) belongs to."""
        try:
            if _DAY_RE.fullmatch(bucket):
                day = date.fromisoformat(bucket)
                return self.fiscal_year_of_month(self.month_of_date(day))
            period = parse_period(bucket)
        except ValueError:
            raise ValueError(
                f"bucket {bucket!r} is not a local day (2024-05-17) or {_PERIOD_FORMS}"
            ) from None
        if period.kind is PeriodKind.MONTH:
            return self.fiscal_year_of_month(bucket)
        return Period(PeriodKind.FISCAL_YEAR, period.year, 1).name

    # -- the months and bounds of a period --------------------------------------------------

    def _first_month_index(self, period: Period) -> int:
        if period.kind is PeriodKind.MONTH:
            return _month_index(period.year, period.number)
        return _month_index(period.year, self._start) + (period.number - 1) * period.kind.months

    @functools.lru_cache(maxsize=8192)  # noqa: B019 - one calendar per process; pure
    def months_of(self, period: str) -> tuple[str, ...]:
        """The months of a period in order, e.g. ``FY2023-Q4`` → 2024-01, 2024-02, 2024-03."""
        parsed = parse_period(period)
        first = self._first_month_index(parsed)
        return tuple(_month_name(index) for index in range(first, first + parsed.kind.months))

    def _dates(self, period: str) -> tuple[date, date]:
        """The first local date of a period and the first date after it."""
        parsed = parse_period(period)
        first = self._first_month_index(parsed)
        after = first + parsed.kind.months
        return date(first // 12, first % 12 + 1, 1), date(after // 12, after % 12 + 1, 1)

    @functools.lru_cache(maxsize=8192)  # noqa: B019 - one calendar per process; pure
    def period_bounds(self, period: str) -> tuple[datetime, datetime]:
        """(start, end) of a period: aware local midnights, `end` exclusive."""
        first, after = self._dates(period)
        return self._config.local_midnight(first), self._config.local_midnight(after)

    def previous_period(self, period: str) -> str:
        """The period of the same kind just before: ``2024-01`` → ``2023-12``,
        ``FY2023-Q1`` → ``FY2022-Q4``, ``FY2023-H1`` → ``FY2022-H2``, ``FY2023`` → ``FY2022``.
        """
        parsed = parse_period(period)
        if parsed.kind is PeriodKind.MONTH:
            return _month_name(_month_index(parsed.year, parsed.number) - 1)
        if parsed.number > 1:
            return Period(parsed.kind, parsed.year, parsed.number - 1).name
        per_year = 12 // parsed.kind.months
        return Period(parsed.kind, parsed.year - 1, per_year).name

    @functools.lru_cache(maxsize=8192)  # noqa: B019 - one calendar per process; pure
    def working_days(self, period: str) -> int:
        """Monday–Friday dates in a period.

        No public-holiday calendar is applied (a Japanese or Chinese holiday still counts as a
        working day), so per-working-day KPIs are slightly conservative in holiday months.
        """
        first, after = self._dates(period)
        return sum(
            1 for offset in range((after - first).days) if (first + timedelta(offset)).weekday() < 5
        )

    # -- rolling windows --------------------------------------------------------------------

    def rolling_window(self, name: str, as_of: datetime) -> tuple[datetime, datetime]:
        """(start, end) of ``R<N>D`` at `as_of`: the N local days ending with as_of's own day.

        Whole days, because rolling windows are summed from day buckets; `end` (exclusive) is
        the local midnight after as_of's day, so the current, partial day is included.
        """
        days = parse_window(name)
        last = self._config.local_date(as_of)
        first = last - timedelta(days=days - 1)
        return (
            self._config.local_midnight(first),
            self._config.local_midnight(last + timedelta(days=1)),
        )

    def window_working_days(self, name: str, as_of: datetime) -> int:
        """Monday–Friday dates in a rolling window ending on `as_of`'s local date."""
        return sum(
            1 for day in self.days_of_window(name, as_of) if date.fromisoformat(day).weekday() < 5
        )

    def days_of_window(self, name: str, as_of: datetime) -> tuple[str, ...]:
        """The local days of a rolling window, oldest first, e.g. for ``R7D``: seven dates."""
        days = parse_window(name)
        last = self._config.local_date(as_of)
        return tuple((last - timedelta(days=back)).isoformat() for back in range(days - 1, -1, -1))

    # -- closing ----------------------------------------------------------------------------

    def period_close(self, period: str) -> datetime:
        """When a period closes: its (exclusive) end, a local midnight."""
        return self.period_bounds(period)[1]

    def is_closed(self, period: str, stream_time: datetime) -> bool:
        """Whether stream time (an aware instant) has reached the period's close."""
        if stream_time.tzinfo is None or stream_time.utcoffset() is None:
            raise ValueError(f"stream time {stream_time.isoformat()} has no UTC offset")
        return stream_time >= self.period_close(period)

    @functools.lru_cache(maxsize=8192)  # noqa: B019 - one calendar per process; pure
    def lateness_deadline(self, period: str) -> datetime:
        """The period's close plus the allowed lateness: until then late events revise it.

        The allowed lateness is added in local calendar days, so the deadline is a local
        midnight too (it stays one across a daylight-saving change).
        """
        close = self.period_close(period)
        return self._config.local_midnight(close.date() + self._config.allowed_lateness)
