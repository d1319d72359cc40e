"""Which target a scorecard line is measured against: the profile's, scoring's or the
catalogue's; yearly baselines × region coefficient, prorated to the period's months."""

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Final

import pytest

from services.reporting.domain.config_models import YearlyTarget
from services.reporting.domain.targets import (
    TargetBasis,
    prorate,
    region_coefficient,
    resolve_target,
    yearly_target,
)
from shared.config import Level, load_org
from shared.kpi.catalogue import load_catalogue
from shared.kpi.kpi_definition import Unit

D = Decimal
CONFIG_DIR: Final = Path(__file__).resolve().parents[3] / "config"
CATALOGUE: Final = load_catalogue(CONFIG_DIR / "kpis.yaml")
ORG: Final = load_org(CONFIG_DIR / "org.yaml")
TEN_MILLION: Final = YearlyTarget(per_year=D("10000000.0"), regional=True)


@pytest.mark.parametrize(
    ("coefficient", "expected"),
    [(D("1.1"), D("11000000.00")), (D("0.9"), D("9000000.00")), (D("1.0"), D("10000000.00"))],
)
def test_a_ten_million_plan_times_the_region_coefficient(
    coefficient: Decimal, expected: Decimal
) -> None:
    basis = TargetBasis(months=12, level=Level.BRANCH, coefficient=coefficient)
    target, problem = yearly_target(TEN_MILLION, basis, Unit.MONEY)
    assert (target, problem) == (expected, None)
    assert str(target) == f"{expected}"  # exactly two places, no exponent


def test_the_coefficients_come_from_org_yaml() -> None:
    assert region_coefficient(ORG, "branch:B01") == D("1.1")  # Kanto, a strong region
    assert region_coefficient(ORG, "branch:B10") == D("0.9")  # Kyushu, a developing one
    assert region_coefficient(ORG, "region:R2") == D("1.0")
    assert region_coefficient(ORG, "team:T01") == D("1.1")  # T01 is in B01
    assert region_coefficient(ORG, "company:ACME") == D(1)  # the company has no region
    assert region_coefficient(ORG, "branch:B99") is None


def test_an_agent_who_moved_takes_the_region_of_the_date() -> None:
    # A0800 moved from B10 (Kyushu, 0.9) to B09 (Kansai, 1.0) on 2023-10-01.
    assert region_coefficient(ORG, "agent:A0800", date(2023, 9, 30)) == D("0.9")
    assert region_coefficient(ORG, "agent:A0800", date(2023, 10, 1)) == D("1.0")
    assert region_coefficient(ORG, "agent:A0800") == D("1.0")  # latest assignment


def test_shorter_periods_get_their_months_share() -> None:
    month = TargetBasis.of("branch:B01", "2024-05", coefficient=D("1.1"))
    quarter = TargetBasis.of("branch:B01", "FY2024-Q1", coefficient=D("1.1"))
    half = TargetBasis.of("branch:B01", "FY2024-H2", coefficient=D("0.9"))
    assert yearly_target(TEN_MILLION, month, Unit.MONEY) == (D("916666.67"), None)
    assert yearly_target(TEN_MILLION, quarter, Unit.MONEY) == (D("2750000.00"), None)
    assert yearly_target(TEN_MILLION, half, Unit.MONEY) == (D("4500000.00"), None)
    assert prorate(D(24), 1, Unit.HOURS) == D(2)
    assert prorate(D(100), 1, Unit.COUNT) == D("8.333333")


def test_baselines_per_level_and_per_head() -> None:
    by_level = YearlyTarget(per_year={Level.BRANCH: D(250), Level.REGION: D(1000)})
    region = TargetBasis(months=12, level=Level.REGION)
    assert yearly_target(by_level, region, Unit.MONEY) == (D("1000.00"), None)
    team = TargetBasis(months=12, level=Level.TEAM)
    assert yearly_target(by_level, team, Unit.MONEY) == (
        None,
        "no yearly baseline for the team level",
    )
    training = YearlyTarget(per_year=D(24), per_head=True)
    eight = TargetBasis(months=3, level=Level.TEAM, headcount=8)
    assert yearly_target(training, eight, Unit.HOURS) == (D(48), None)
    nobody = TargetBasis(months=3, level=Level.TEAM)
    assert yearly_target(training, nobody, Unit.HOURS) == (None, "no headcount for the entity")
    no_region = TargetBasis(months=12, level=Level.BRANCH)
    assert yearly_target(TEN_MILLION, no_region, Unit.MONEY)[1] == (
        "no region coefficient for the entity"
    )


def test_the_profile_target_wins_then_scorings_then_the_catalogue() -> None:
    satisfaction = CATALOGUE["satisfaction_mean"]
    basis = TargetBasis.of("team:T01", "2024-05")

    def resolve(
        spec: Decimal | None, *, scored: bool, scored_target: Decimal | None
    ) -> tuple[Decimal | None, bool]:
        resolved = resolve_target(
            spec,
            satisfaction,
            scored=scored,
            scored_target=scored_target,
            basis=basis,
            period="2024-05",
        )
        return resolved.target, resolved.from_profile

    assert resolve(D(95), scored=True, scored_target=D(85)) == (D(95), True)
    assert resolve(None, scored=True, scored_target=D(88)) == (D(88), False)
    # Scoring published nothing for the KPI (a quiet entity): the catalogue's default.
    assert resolve(None, scored=False, scored_target=None) == (D(85), False)
    compliments = resolve_target(
        None,
        CATALOGUE["compliments"],
        scored=False,
        scored_target=None,
        basis=basis,
        period="2024-05",
    )
    assert compliments.target == D("8.333333")  # 100 a year, a month's share
