"""Effective-dated definitions: one file states several years' rules side by side.

A KPI of `kpis.yaml` or a profile of `scorecards.yaml` may appear more than once under the same
id, each version with its own `effective_from`, a fiscal period (``FY2024``, ``FY2024-H2``,
``FY2024-Q3``) or a month (``2024-10``). A version is in force from the first local day of that
period; the rule for a period is the version with the latest start at or before the period's
first month. A version without `effective_from` has been in force since the beginning.

Periods are whole local months (`fiscal_calendar`), so comparing first months is comparing
local midnights in the calendar's time zone: an event at ``2024-03-31T15:30Z`` falls in Tokyo's
April, and so under an FY2024 rule when the fiscal year starts in April.
"""

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Generic, TypeVar

from pydantic_core import PydanticCustomError

from shared.config.calendar import CalendarConfig

from .fiscal_calendar import FiscalCalendar, is_window, parse_period

BEGINNING: Final = ""  # the start of a version without effective_from: before every month
EFFECTIVE_FORMS: Final = (
    "a fiscal year (FY2024), half (FY2024-H2), quarter (FY2024-Q3) or month (2024-10)"
)

T = TypeVar("T")


def check_effective_from(value: str) -> str:
    """A pydantic error naming the forms allowed unless `value` names a fiscal period or
    month (a rolling window has no fixed start)."""
    what = "a rolling window" if is_window(value) else "not a period"
    try:
        parse_period(value)
    except ValueError:
        raise PydanticCustomError(
            "effective_from",
            "'{value}' is {what}; write effective_from as {forms}",
            {"value": value, "what": what, "forms": EFFECTIVE_FORMS},
        ) from None
    return value


def calendar_of(fiscal_year_start_month: int) -> FiscalCalendar:
    """A calendar that only does month arithmetic (the time zone plays no part in it)."""
    return FiscalCalendar(CalendarConfig(fiscal_year_start_month=fiscal_year_start_month))


def start_month(effective_from: str | None, calendar: FiscalCalendar) -> str:
    """The first month a version is in force (`BEGINNING` without effective_from)."""
    return BEGINNING if effective_from is None else calendar.months_of(effective_from)[0]


def rule_month(period: str, calendar: FiscalCalendar, as_of: datetime | None = None) -> str:
    """The month whose rules a period is computed with: its first month; a rolling window
    (``R30D``), which ends at `as_of`, uses the rules of the month `as_of` falls in."""
    if is_window(period):
        if as_of is None:
            raise ValueError(f"the rolling window {period!r} needs the time it ends at")
        return calendar.month_of(as_of)
    return calendar.months_of(period)[0]


@dataclass(frozen=True, slots=True)
class Dated(Generic[T]):
    """The versions of one definition, ordered by the month each starts in (all distinct)."""

    starts: tuple[str, ...]
    versions: tuple[T, ...]

    @classmethod
    def of(cls, versions: Iterable[tuple[str, T]]) -> "Dated[T]":
        ordered = sorted(versions, key=lambda pair: pair[0])
        return cls(tuple(s for s, _ in ordered), tuple(v for _, v in ordered))

    @property
    def current(self) -> T:
        """The version with the latest start: what the files say now."""
        return self.versions[-1]

    @property
    def first_start(self) -> str:
        return self.starts[0]

    def in_force(self, month: str) -> T | None:
        """The version in force in `month` (``2024-04``); None before the first one starts."""
        index = bisect_right(self.starts, month)
        return self.versions[index - 1] if index else None


def same_start(
    items: Iterable[tuple[int, str | None]], calendar: FiscalCalendar
) -> Iterable[tuple[int, int, str]]:
    """Pairs of versions (by index) that start in the same month, with that month: two rules
    for the same id cannot both be in force. Yields (earlier index, later index, month)."""
    seen: dict[str, int] = {}
    for index, effective_from in items:
        month = start_month(effective_from, calendar)
        if month in seen:
            yield seen[month], index, month
        else:
            seen[month] = index


def describe_start(month: str) -> str:
    return "the beginning (no effective_from)" if month == BEGINNING else month
