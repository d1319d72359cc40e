"""A rolling window (R30D) is scored like a period: its target, its plan and its working days."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Final

from shared.kpi.config import load_kpi_config
from shared.kpi.fiscal_calendar import is_window

CONFIG: Final = load_kpi_config(Path("config"))


def test_a_count_target_for_a_year_is_spread_over_the_windows_days() -> None:
    compliments = CONFIG.catalogue["compliments"]  # 100 a fiscal year
    target = CONFIG.targets.target(compliments, "branch:B01", "R30D", CONFIG.calendar)
    assert target == Decimal("8.213552")  # 100 × 30 / 365.25


def test_a_rate_target_holds_for_a_window_as_for_a_month() -> None:
    renewal_rate = CONFIG.catalogue["renewal_rate"]
    window = CONFIG.targets.target(renewal_rate, "branch:B01", "R30D", CONFIG.calendar)
    month = CONFIG.targets.target(renewal_rate, "branch:B01", "2024-05", CONFIG.calendar)
    assert window == month == renewal_rate.default_target


def test_a_window_has_no_premium_plan() -> None:
    assert CONFIG.targets.plan("branch:B01", "R30D", CONFIG.calendar) is None


def test_a_weeks_window_has_five_working_days_whatever_day_it_ends() -> None:
    for day in range(1, 8):
        as_of = datetime(2024, 5, day, 12, tzinfo=UTC)
        assert CONFIG.calendar.window_working_days("R7D", as_of) == 5


def test_window_names() -> None:
    assert is_window("R30D")
    assert not is_window("2024-05")
    assert not is_window("FY2024")
