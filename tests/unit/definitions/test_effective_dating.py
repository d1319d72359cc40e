"""Effective-dated KPIs: one file states FY2023's and FY2024's rules side by side, and each
period is computed with the rule in force at its first local day."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.config import InvalidConfig
from shared.config.calendar import CalendarConfig
from shared.kpi.catalogue import KpiCatalogue
from shared.kpi.effective import BEGINNING, Dated, rule_month, start_month
from shared.kpi.fiscal_calendar import FiscalCalendar

TOKYO_APRIL: Final = FiscalCalendar(CalendarConfig())  # April–March, Asia/Tokyo
NEW_YORK_JULY: Final = FiscalCalendar(
    CalendarConfig(fiscal_year_start_month=7, timezone="America/New_York")
)


def renewal_rate(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": "renewal_rate",
        "labels": {"en": "Renewal rate", "zh": "续保率", "ja": "続保率"},
        "kind": "ratio",
        "direction": "higher_is_better",
        "unit": "ratio",
        "numerator": "renewal_renewed",
        "denominator": "renewal_due",
        "default_target": 0.90,
    }
    entry.update(changes)
    return entry


def compliments(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": "compliments",
        "labels": {"en": "Compliments", "zh": "表扬", "ja": "お褒め"},
        "kind": "count",
        "direction": "higher_is_better",
        "unit": "count",
        "numerator": "compliments",
    }
    entry.update(changes)
    return entry


def catalogue(*entries: dict[str, Any], calendar: FiscalCalendar = TOKYO_APRIL) -> KpiCatalogue:
    return KpiCatalogue.from_document(
        {"kpis": list(entries)}, source="config/kpis.yaml", calendar=calendar
    )


def messages(*entries: dict[str, Any], calendar: FiscalCalendar = TOKYO_APRIL) -> list[str]:
    with pytest.raises(InvalidConfig) as raised:
        catalogue(*entries, calendar=calendar)
    return str(raised.value).splitlines()


# FY2023's rule (no effective_from: since the beginning) and FY2024's, side by side.
SCHEME: Final = catalogue(
    renewal_rate(),
    compliments(effective_from="FY2024"),
    renewal_rate(default_target=0.85, effective_from="FY2024"),
)


def target_in(month: str, kpis: KpiCatalogue = SCHEME) -> Decimal | None:
    rule = kpis.in_force("renewal_rate", month)
    assert rule is not None
    return rule.default_target


def test_the_rule_of_a_period_is_the_latest_version_started_by_its_first_month() -> None:
    assert target_in("2024-03") == Decimal("0.9")  # the last month of FY2023
    assert target_in("2024-04") == Decimal("0.85")  # the first of FY2024
    assert target_in("2023-04") == Decimal("0.9")
    assert target_in("2030-01") == Decimal("0.85")
    periods = {
        "FY2023": "0.9",
        "FY2023-H2": "0.9",
        "FY2023-Q4": "0.9",
        "FY2024": "0.85",
        "FY2024-Q1": "0.85",
    }
    for period, target in periods.items():
        assert target_in(rule_month(period, TOKYO_APRIL)) == Decimal(target), period


def test_a_kpi_joining_in_fy2024_is_not_defined_before() -> None:
    assert SCHEME.in_force("compliments", "2024-03") is None
    assert SCHEME.in_force("compliments", "2024-04") == SCHEME["compliments"]
    assert "compliments" not in SCHEME.as_of("2024-03")
    assert SCHEME.as_of("2024-03").ids == ("renewal_rate",)
    assert SCHEME.as_of("2024-04").ids == ("renewal_rate", "compliments")
    assert SCHEME.as_of("2024-03")["renewal_rate"].default_target == Decimal("0.9")


def test_iteration_sees_each_kpi_once_at_its_current_version() -> None:
    assert SCHEME.ids == ("renewal_rate", "compliments")
    assert len(SCHEME) == 2
    assert SCHEME["renewal_rate"].default_target == Decimal("0.85")
    assert len(SCHEME.entries) == 3
    assert SCHEME.dated


@pytest.mark.parametrize(
    ("moment", "target"),
    [
        (datetime(2024, 3, 31, 14, 59, 59, tzinfo=UTC), "0.9"),  # 23:59:59 on 31 March in Tokyo
        (datetime(2024, 3, 31, 15, 0, tzinfo=UTC), "0.85"),  # midnight, 1 April in Tokyo
        (datetime(2024, 4, 1, 0, 0, tzinfo=UTC), "0.85"),
    ],
)
def test_the_fiscal_year_boundary_is_local_midnight_in_tokyo(moment: datetime, target: str) -> None:
    month = TOKYO_APRIL.month_of(moment)
    assert target_in(month) == Decimal(target)


def test_a_july_fiscal_year_in_new_york_starts_at_local_midnight_on_1_july() -> None:
    kpis = catalogue(
        renewal_rate(),
        renewal_rate(default_target=0.85, effective_from="FY2024"),
        calendar=NEW_YORK_JULY,
    )
    before = datetime(2024, 7, 1, 3, 59, tzinfo=UTC)  # 23:59 on 30 June, EDT
    after = datetime(2024, 7, 1, 4, 0, tzinfo=UTC)  # midnight, 1 July
    assert target_in(NEW_YORK_JULY.month_of(before), kpis) == Decimal("0.9")
    assert target_in(NEW_YORK_JULY.month_of(after), kpis) == Decimal("0.85")
    # Under an April calendar FY2024 would have started three months earlier.
    assert target_in("2024-06", kpis) == Decimal("0.9")
    assert target_in("2024-06", SCHEME) == Decimal("0.85")


def test_a_rolling_window_uses_the_rule_of_the_month_it_ends_in() -> None:
    as_of = datetime(2024, 4, 10, 3, tzinfo=UTC)  # the window starts in March, ends in April
    assert rule_month("R30D", TOKYO_APRIL, as_of) == "2024-04"
    assert target_in(rule_month("R30D", TOKYO_APRIL, as_of)) == Decimal("0.85")


def test_a_month_quarter_or_half_can_start_a_version() -> None:
    kpis = catalogue(
        renewal_rate(effective_from="2023-10"),
        renewal_rate(default_target=0.8, effective_from="FY2024-H2"),
        renewal_rate(default_target=0.7, effective_from="FY2025-Q2"),
    )
    assert kpis.in_force("renewal_rate", "2023-09") is None
    assert target_in("2023-10", kpis) == Decimal("0.9")
    assert target_in("2024-09", kpis) == Decimal("0.9")
    assert target_in("2024-10", kpis) == Decimal("0.8")  # FY2024-H2 starts in October
    assert target_in("2025-06", kpis) == Decimal("0.8")
    assert target_in("2025-07", kpis) == Decimal("0.7")  # FY2025-Q2 starts in July


def test_an_undated_catalogue_is_the_same_for_every_month() -> None:
    kpis = catalogue(renewal_rate(), compliments())
    assert not kpis.dated
    assert kpis.as_of("2024-04") is kpis
    assert kpis.in_force("renewal_rate", "1999-01") == kpis["renewal_rate"]


def test_two_versions_starting_in_the_same_month_are_refused() -> None:
    assert messages(
        renewal_rate(effective_from="FY2024"),
        renewal_rate(default_target=0.8, effective_from="2024-04"),
    ) == [
        "config/kpis.yaml: kpis[1] (renewal_rate).effective_from: this version starts in "
        "2024-04, like kpis[0] (effective_from FY2024); give each version of a KPI its own start"
    ]


def test_two_undated_versions_are_a_duplicate_id() -> None:
    assert messages(renewal_rate(), compliments(), renewal_rate()) == [
        "config/kpis.yaml: kpis[2] (renewal_rate).id: KPI 'renewal_rate' is already defined at "
        "kpis[0]; give each KPI its own id"
    ]


@pytest.mark.parametrize(
    ("given_value", "what"),
    [
        ("FY24", "not a period"),
        ("2024-13", "not a period"),
        ("R30D", "a rolling window"),
        ("FY2024-Q5", "not a period"),
    ],
)
def test_an_unknown_period_names_the_file_entry_and_field(given_value: str, what: str) -> None:
    assert messages(renewal_rate(effective_from=given_value)) == [
        f"config/kpis.yaml: kpis[0] (renewal_rate).effective_from: '{given_value}' is {what}; "
        "write effective_from as a fiscal year (FY2024), half (FY2024-H2), quarter (FY2024-Q3) "
        "or month (2024-10)"
    ]


# --- properties --------------------------------------------------------------------------

months = st.builds(
    lambda year, month: f"{year:04d}-{month:02d}",
    st.integers(min_value=2000, max_value=2040),
    st.integers(min_value=1, max_value=12),
)


@given(st.lists(months, min_size=1, max_size=6, unique=True), months)
def test_in_force_is_the_latest_start_at_or_before_the_month(starts: list[str], month: str) -> None:
    dated = Dated.of((start, start) for start in starts)
    chosen = dated.in_force(month)
    started = [start for start in starts if start <= month]
    assert chosen == (max(started) if started else None)


@given(
    year=st.integers(min_value=2001, max_value=2039),
    start_month_number=st.integers(min_value=1, max_value=12),
    seconds=st.integers(min_value=-3 * 86400, max_value=3 * 86400),
)
def test_an_fy_version_applies_exactly_from_the_local_midnight_the_year_starts(
    year: int, start_month_number: int, seconds: int
) -> None:
    calendar = FiscalCalendar(
        CalendarConfig(fiscal_year_start_month=start_month_number, timezone="Asia/Tokyo")
    )
    kpis = catalogue(
        renewal_rate(),
        renewal_rate(default_target=0.85, effective_from=f"FY{year}"),
        calendar=calendar,
    )
    boundary, _ = calendar.period_bounds(f"FY{year}")
    moment = boundary + timedelta(seconds=seconds)
    expected = Decimal("0.85") if moment >= boundary else Decimal("0.9")
    assert target_in(calendar.month_of(moment), kpis) == expected


def test_start_month_of_no_effective_from_is_the_beginning() -> None:
    assert start_month(None, TOKYO_APRIL) == BEGINNING
    assert start_month("FY2024-Q3", TOKYO_APRIL) == "2024-10"
