"""Which periods a recomputation `--from PERIOD` republishes (shared/kpi/republication.py):
those that end on or after PERIOD's first local midnight, and any not settled yet."""

from datetime import UTC, datetime, timedelta
from typing import Final

import pytest

from shared.config.calendar import CalendarConfig
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.kpi.republication import from_period, republishes, settled

# April fiscal years in Tokyo, 7 days of lateness: the shipped calendar.
TOKYO: Final = FiscalCalendar(CalendarConfig(fiscal_year_start_month=4, timezone="Asia/Tokyo"))
JANUARY: Final = FiscalCalendar(CalendarConfig(fiscal_year_start_month=1, timezone="UTC"))

FY2024 = ["FY2024", "FY2024-H1", "FY2024-H2"] + [f"FY2024-Q{q}" for q in range(1, 5)]
MONTHS = [f"2024-{m:02d}" for m in range(4, 13)] + ["2025-01", "2025-02", "2025-03"]


def _republished(calendar: FiscalCalendar, since: str | None) -> set[str]:
    return {p for p in [*MONTHS, *FY2024, "FY2023", "FY2025"] if republishes(calendar, p, since)}


def test_from_a_month_the_periods_that_end_on_or_after_its_start() -> None:
    assert _republished(TOKYO, "2024-10") == {
        *MONTHS[6:],  # 2024-10 to 2025-03
        "FY2024-Q3",
        "FY2024-Q4",
        "FY2024-H2",
        "FY2024",  # ends in March 2025: restated from October
        "FY2025",
    }


def test_a_quarter_or_half_starting_that_month_is_the_same_boundary() -> None:
    assert _republished(TOKYO, "FY2024-Q3") == _republished(TOKYO, "2024-10")
    assert _republished(TOKYO, "FY2024-H2") == _republished(TOKYO, "2024-10")


def test_from_a_fiscal_year_its_first_month_on() -> None:
    assert _republished(TOKYO, "FY2024") == {*MONTHS, *FY2024, "FY2025"}
    # FY2023 ends on 31 March 2024 (local): it ends before FY2024 starts.
    assert not republishes(TOKYO, "FY2023", "FY2024")
    assert not republishes(TOKYO, "2024-03", "FY2024")


def test_a_period_ending_the_month_before_is_left_but_one_spanning_the_start_is_not() -> None:
    assert not republishes(TOKYO, "2024-09", "2024-10")
    assert not republishes(TOKYO, "FY2024-Q2", "2024-10")  # July to September
    assert republishes(TOKYO, "FY2024-Q3", "2024-11")  # October to December: spans November
    assert not republishes(TOKYO, "FY2024-Q3", "2025-01")


def test_the_fiscal_year_start_decides_what_a_fiscal_period_spans() -> None:
    # With January fiscal years FY2024 is calendar 2024, and FY2024-Q3 is July to September.
    assert republishes(JANUARY, "FY2024-Q3", "2024-09")
    assert not republishes(JANUARY, "FY2024-Q3", "2024-10")
    assert not republishes(JANUARY, "FY2024", "2025-01")
    assert republishes(TOKYO, "FY2024", "2025-01")  # April fiscal years: to March 2025


def test_without_from_every_period_and_a_rolling_window_always() -> None:
    assert _republished(TOKYO, None) == {*MONTHS, *FY2024, "FY2023", "FY2025"}
    assert republishes(TOKYO, "R30D", "2030-01")


def test_the_boundary_is_a_local_midnight() -> None:
    # 2024-09-30T15:00Z is 00:00 on 1 October in Tokyo: the start of what `--from 2024-10`
    # republishes; a second earlier is still September, which is left as published.
    start, _ = TOKYO.period_bounds(from_period("2024-10"))
    assert start == datetime(2024, 9, 30, 15, tzinfo=UTC)
    before, at = start - timedelta(seconds=1), start
    assert (TOKYO.month_of(before), TOKYO.month_of(at)) == ("2024-09", "2024-10")
    assert not republishes(TOKYO, TOKYO.month_of(before), "2024-10")
    assert republishes(TOKYO, TOKYO.month_of(at), "2024-10")
    # In UTC the same instants are both September: the zone decides, not UTC.
    utc = FiscalCalendar(CalendarConfig(fiscal_year_start_month=4, timezone="UTC"))
    assert not republishes(utc, utc.month_of(at), "2024-10")


def test_a_period_not_settled_yet_is_republished_whatever_its_end() -> None:
    assert republishes(TOKYO, "2024-09", "2024-10", settled=False)
    # September's lateness ends 7 local days after it closes: 8 October, 00:00 in Tokyo.
    deadline = datetime(2024, 10, 7, 15, tzinfo=UTC)
    assert not settled(TOKYO, "2024-09", deadline - timedelta(seconds=1))
    assert settled(TOKYO, "2024-09", deadline)
    assert not settled(TOKYO, "2024-09", None)  # nothing applied: nothing is settled
    assert not settled(TOKYO, "R30D", deadline + timedelta(days=400))


@pytest.mark.parametrize(
    ("text", "name"),
    [("2024-10", "2024-10"), ("FY2024", "FY2024"), ("FY2024-Q3", "FY2024-Q3")],
)
def test_from_takes_the_calendars_period_names(text: str, name: str) -> None:
    assert from_period(text) == name


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("FY24", "is not a period"),
        ("2024-13", "is not a period"),
        ("2024-10-01", "is not a period"),
        ("FY2024-Q5", "is not a period"),
        ("FY2024-H3", "is not a period"),
        ("R30D", "is a rolling window"),
        ("", "is not a period"),
    ],
)
def test_anything_else_is_refused_saying_what_is_expected(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says) as refused:
        from_period(text)
    assert "FY2024-Q3" in str(refused.value)  # the forms accepted, with examples
