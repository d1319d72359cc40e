"""The fiscal calendar: local-midnight boundaries, fiscal periods, windows, closing."""

import re
from datetime import UTC, date, datetime, timedelta, timezone
from itertools import pairwise
from typing import Final
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.config.calendar import CalendarConfig
from shared.kpi.fiscal_calendar import (
    FiscalCalendar,
    Period,
    PeriodKind,
    parse_period,
    parse_window,
)

TOKYO: Final = ZoneInfo("Asia/Tokyo")
JST: Final = timezone(timedelta(hours=9))
APRIL: Final = FiscalCalendar(CalendarConfig())
JANUARY: Final = FiscalCalendar(CalendarConfig(fiscal_year_start_month=1))


# --- the boundary cases of DESIGN §4 -------------------------------------------------------


def test_the_last_half_hour_of_march_is_fy2022() -> None:
    moment = datetime(2023, 3, 31, 23, 30, tzinfo=JST)
    assert APRIL.month_of(moment) == "2023-03"
    assert APRIL.fiscal_year_of_month(APRIL.month_of(moment)) == "FY2022"


def test_ten_past_midnight_on_april_1_is_fy2023() -> None:
    moment = datetime(2023, 4, 1, 0, 10, tzinfo=JST)
    assert APRIL.month_of(moment) == "2023-04"
    assert APRIL.fiscal_year_of_month(APRIL.month_of(moment)) == "FY2023"


def test_a_utc_instant_counts_by_local_time() -> None:
    moment = datetime(2023, 3, 31, 15, 30, tzinfo=UTC)  # 2023-04-01T00:30+09:00
    assert APRIL.month_of(moment) == "2023-04"
    assert APRIL.day_of(moment) == "2023-04-01"
    assert APRIL.fiscal_year_of_month(APRIL.month_of(moment)) == "FY2023"


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="has no UTC offset"):
        APRIL.month_of(datetime(2023, 4, 1))


def test_a_january_start_makes_the_fiscal_year_the_calendar_year() -> None:
    assert JANUARY.fiscal_year_of_month("2024-03") == "FY2024"
    assert JANUARY.fiscal_year_of_month("2024-12") == "FY2024"
    assert JANUARY.quarter_of_month("2024-03") == "FY2024-Q1"
    assert JANUARY.half_of_month("2024-07") == "FY2024-H2"
    assert JANUARY.months_of("FY2024")[0] == "2024-01"


def test_an_april_start() -> None:
    assert APRIL.fiscal_year_of_month("2024-03") == "FY2023"
    assert APRIL.fiscal_year_of_month("2024-04") == "FY2024"


@pytest.mark.parametrize(
    ("month", "quarter", "half"),
    [
        ("2024-04", "FY2024-Q1", "FY2024-H1"),
        ("2024-06", "FY2024-Q1", "FY2024-H1"),
        ("2024-07", "FY2024-Q2", "FY2024-H1"),
        ("2024-09", "FY2024-Q2", "FY2024-H1"),
        ("2024-10", "FY2024-Q3", "FY2024-H2"),
        ("2024-12", "FY2024-Q3", "FY2024-H2"),
        ("2025-01", "FY2024-Q4", "FY2024-H2"),
        ("2025-03", "FY2024-Q4", "FY2024-H2"),
    ],
)
def test_quarters_and_halves_of_an_april_year(month: str, quarter: str, half: str) -> None:
    assert APRIL.quarter_of_month(month) == quarter
    assert APRIL.half_of_month(month) == half
    assert APRIL.periods_of_month(month) == (month, quarter, half, "FY2024")


def test_months_of_each_kind_of_period() -> None:
    assert APRIL.months_of("2024-05") == ("2024-05",)
    assert APRIL.months_of("FY2023-Q4") == ("2024-01", "2024-02", "2024-03")
    assert APRIL.months_of("FY2023-H2") == (
        "2023-10",
        "2023-11",
        "2023-12",
        "2024-01",
        "2024-02",
        "2024-03",
    )
    assert APRIL.months_of("FY2023")[0] == "2023-04"
    assert APRIL.months_of("FY2023")[-1] == "2024-03"


def test_bounds_are_local_midnights() -> None:
    start, end = APRIL.period_bounds("FY2023")
    assert start == datetime(2023, 4, 1, tzinfo=TOKYO)
    assert end == datetime(2024, 4, 1, tzinfo=TOKYO)
    assert start.astimezone(UTC) == datetime(2023, 3, 31, 15, tzinfo=UTC)
    assert APRIL.period_bounds("2024-02") == (
        datetime(2024, 2, 1, tzinfo=TOKYO),
        datetime(2024, 3, 1, tzinfo=TOKYO),
    )


@pytest.mark.parametrize(
    ("period", "previous"),
    [
        ("2024-01", "2023-12"),
        ("2024-05", "2024-04"),
        ("FY2023-Q1", "FY2022-Q4"),
        ("FY2023-Q3", "FY2023-Q2"),
        ("FY2023-H1", "FY2022-H2"),
        ("FY2023-H2", "FY2023-H1"),
        ("FY2023", "FY2022"),
    ],
)
def test_previous_period_crosses_year_boundaries(period: str, previous: str) -> None:
    assert APRIL.previous_period(period) == previous


def test_working_days_of_may_2024() -> None:
    assert APRIL.working_days("2024-05") == 23


def test_working_days_of_a_quarter_and_a_year() -> None:
    assert APRIL.working_days("FY2024-Q1") == 22 + 23 + 20  # April–June 2024, no holidays
    assert APRIL.working_days("FY2023") == 260


@pytest.mark.parametrize(
    ("bucket", "fiscal_year"),
    [
        ("2024-03", "FY2023"),
        ("2024-04", "FY2024"),
        ("2024-03-31", "FY2023"),
        ("2024-04-01", "FY2024"),
        ("FY2024-Q1", "FY2024"),
        ("FY2024-H2", "FY2024"),
        ("FY2024", "FY2024"),
    ],
)
def test_bucket_fiscal_year(bucket: str, fiscal_year: str) -> None:
    assert APRIL.bucket_fiscal_year(bucket) == fiscal_year


@pytest.mark.parametrize("bucket", ["2024-02-30", "2024-5", "week-12"])
def test_a_bad_bucket_is_refused(bucket: str) -> None:
    with pytest.raises(ValueError, match="is not a local day"):
        APRIL.bucket_fiscal_year(bucket)


# --- parsing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "period"),
    [
        ("2024-03", Period(PeriodKind.MONTH, 2024, 3)),
        ("FY2023", Period(PeriodKind.FISCAL_YEAR, 2023, 1)),
        ("FY2023-Q4", Period(PeriodKind.QUARTER, 2023, 4)),
        ("FY2023-H2", Period(PeriodKind.HALF, 2023, 2)),
    ],
)
def test_parse_period(name: str, period: Period) -> None:
    assert parse_period(name) == period
    assert period.name == name


@pytest.mark.parametrize("name", ["2024-13", "2024-3", "FY23", "FY2023-Q5", "FY2023-H3", "fy2023"])
def test_a_bad_period_name_says_what_is_expected(name: str) -> None:
    expected = (
        f"period {name!r} is not a month (2024-03), fiscal quarter (FY2023-Q1), "
        "fiscal half (FY2023-H1) or fiscal year (FY2023)"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        parse_period(name)


def test_a_rolling_window_is_not_a_period() -> None:
    with pytest.raises(ValueError, match="'R30D' is a rolling window"):
        APRIL.period_bounds("R30D")


def test_a_month_is_required_where_a_month_is_meant() -> None:
    with pytest.raises(ValueError, match="'FY2023' is not a month"):
        APRIL.fiscal_year_of_month("FY2023")


# --- rolling windows ---------------------------------------------------------------------


def test_rolling_window_is_whole_local_days_ending_today() -> None:
    as_of = datetime(2024, 4, 30, 16, 0, tzinfo=UTC)  # 2024-05-01T01:00 in Tokyo
    start, end = APRIL.rolling_window("R30D", as_of)
    assert start == datetime(2024, 4, 2, tzinfo=TOKYO)
    assert end == datetime(2024, 5, 2, tzinfo=TOKYO)
    days = APRIL.days_of_window("R30D", as_of)
    assert len(days) == 30
    assert (days[0], days[-1]) == ("2024-04-02", "2024-05-01")


def test_a_one_day_window_is_today() -> None:
    as_of = datetime(2024, 5, 17, 12, tzinfo=JST)
    assert APRIL.days_of_window("R1D", as_of) == ("2024-05-17",)


@pytest.mark.parametrize("name", ["R0D", "30D", "R30", "R1000D", "r30d"])
def test_a_bad_window_name_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="is not written R<days>D"):
        parse_window(name)


# --- closing -----------------------------------------------------------------------------


def test_a_period_closes_at_its_end_and_accepts_late_events_for_the_allowed_lateness() -> None:
    close = APRIL.period_close("2024-03")
    assert close == datetime(2024, 4, 1, tzinfo=TOKYO)
    assert not APRIL.is_closed("2024-03", datetime(2024, 3, 31, 14, 59, 59, tzinfo=UTC))
    assert APRIL.is_closed("2024-03", datetime(2024, 3, 31, 15, 0, tzinfo=UTC))
    assert APRIL.lateness_deadline("2024-03") == datetime(2024, 4, 8, tzinfo=TOKYO)


def test_lateness_follows_the_configuration() -> None:
    strict = FiscalCalendar(CalendarConfig(allowed_lateness_days=0))
    assert strict.lateness_deadline("FY2023-Q4") == strict.period_close("FY2023-Q4")


def test_is_closed_refuses_a_naive_stream_time() -> None:
    with pytest.raises(ValueError, match="has no UTC offset"):
        APRIL.is_closed("2024-03", datetime(2024, 4, 2))


# --- properties --------------------------------------------------------------------------

calendars = st.builds(
    lambda start, zone: FiscalCalendar(
        CalendarConfig(fiscal_year_start_month=start, timezone=zone)
    ),
    st.integers(min_value=1, max_value=12),
    st.sampled_from(["Asia/Tokyo", "Asia/Shanghai", "UTC", "America/New_York", "Europe/London"]),
)
instants = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
)
months = st.builds(
    lambda year, month: f"{year:04d}-{month:02d}",
    st.integers(min_value=1971, max_value=2099),
    st.integers(min_value=1, max_value=12),
)


def _contains(calendar: FiscalCalendar, period: str, moment: datetime) -> bool:
    start, end = calendar.period_bounds(period)
    # Compare in UTC: aware datetimes sharing one tzinfo compare by wall clock.
    return start.astimezone(UTC) <= moment < end.astimezone(UTC)


@given(calendars, instants)
def test_every_instant_falls_in_exactly_one_month_and_its_periods(
    calendar: FiscalCalendar, moment: datetime
) -> None:
    month = calendar.month_of(moment)
    neighbours = (calendar.previous_period(month), _next_month(month))
    assert _contains(calendar, month, moment)
    assert not any(_contains(calendar, other, moment) for other in neighbours)
    for period in calendar.periods_of_month(month):
        assert _contains(calendar, period, moment)
        assert month in calendar.months_of(period)


@given(calendars, months)
def test_a_fiscal_year_has_twelve_consecutive_months(calendar: FiscalCalendar, month: str) -> None:
    fiscal_year = calendar.fiscal_year_of_month(month)
    year_months = calendar.months_of(fiscal_year)
    assert len(year_months) == 12
    assert month in year_months
    for earlier, later in pairwise(year_months):
        assert calendar.previous_period(later) == earlier
    quarters = [calendar.months_of(f"{fiscal_year}-Q{q}") for q in range(1, 5)]
    assert tuple(m for quarter in quarters for m in quarter) == year_months


@given(calendars, months)
def test_bounds_of_consecutive_months_touch(calendar: FiscalCalendar, month: str) -> None:
    _, end = calendar.period_bounds(calendar.previous_period(month))
    start, _ = calendar.period_bounds(month)
    assert end == start
    assert start.timetz().replace(tzinfo=None) == datetime.min.time()
    assert calendar.working_days(month) in range(20, 24)


def _next_month(month: str) -> str:
    year, number = (int(part) for part in month.split("-"))
    following = date(year + number // 12, number % 12 + 1, 1)
    return f"{following.year:04d}-{following.month:02d}"


@given(calendars, st.lists(instants, min_size=1, max_size=20), st.data())
def test_the_remembered_day_and_month_are_those_of_the_instant_asked(
    calendar: FiscalCalendar, moments: list[datetime], data: st.DataObject
) -> None:
    # The calendar remembers the last instant's local date and the months of dates: asked
    # again and again, in any order, with an equal instant that is another object, in another
    # zone, it answers what the zone's clock says.
    zone = calendar.config.zone
    for moment in moments + data.draw(st.permutations(moments)):
        for asked in (moment, moment.astimezone(JST), moment):
            local = moment.astimezone(zone).date()
            assert calendar.local_day(asked) == local
            assert calendar.day_of(asked) == local.isoformat()
            assert calendar.month_of(asked) == f"{local.year:04d}-{local.month:02d}"
            assert calendar.month_of_date(local) == f"{local.year:04d}-{local.month:02d}"
