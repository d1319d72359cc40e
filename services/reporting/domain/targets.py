"""Which target a scorecard line is measured against (DESIGN §4, §6).

In order: the profile's own target (a number, or a yearly baseline prorated to the period's
months, optionally × the region coefficient and × the headcount); else the target scoring
used for the entity and period (targets.yaml, else the catalogue's default); else, when
scoring published nothing for the KPI, the catalogue's default for the period's kind.
"""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

from shared.config.org import Level, OrgChart, parse_entity
from shared.kpi.fiscal_calendar import parse_period
from shared.kpi.kpi_definition import KpiDefinition, Unit

from .config_models import TargetSpec, YearlyTarget

_CENT: Final = Decimal("0.01")
_SIX_PLACES: Final = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class TargetBasis:
    """What a yearly baseline is scaled by for one entity and period."""

    months: int
    level: Level
    coefficient: Decimal | None = None  # the entity's region coefficient (1 for the company)
    headcount: int | None = None

    @classmethod
    def of(
        cls,
        entity: str,
        period: str,
        *,
        coefficient: Decimal | None = None,
        headcount: int | None = None,
    ) -> "TargetBasis":
        """The basis of an entity (``branch:B01``) and a named period (``2024-05``, ``FY2024``)."""
        level, _ = parse_entity(entity)
        return cls(parse_period(period).kind.months, level, coefficient, headcount)


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    """A line's target, whether the profile set it, and why a profile target could not be
    computed (a level without a baseline, an entity without a coefficient or headcount)."""

    target: Decimal | None
    from_profile: bool
    problem: str | None = None


def prorate(yearly: Decimal, months: int, unit: Unit) -> Decimal:
    """A yearly amount's share of `months`: money to 0.01, other units to six places."""
    share = yearly * months / 12
    if unit is Unit.MONEY:
        return share.quantize(_CENT, rounding=ROUND_HALF_EVEN)
    return share.quantize(_SIX_PLACES, rounding=ROUND_HALF_EVEN).normalize() + 0


def yearly_target(
    spec: YearlyTarget, basis: TargetBasis, unit: Unit
) -> tuple[Decimal | None, str | None]:
    """A yearly baseline × coefficient × headcount, prorated: (target, why there is none).

    10,000,000 a year × 1.1 is 11,000,000.00 for a fiscal year and 916,666.67 for a month.
    """
    baseline = spec.baseline(basis.level)
    if baseline is None:
        return None, f"no yearly baseline for the {basis.level.value} level"
    amount = baseline
    if spec.regional:
        if basis.coefficient is None:
            return None, "no region coefficient for the entity"
        amount *= basis.coefficient
    if spec.per_head:
        if basis.headcount is None:
            return None, "no headcount for the entity"
        amount *= basis.headcount
    return prorate(amount, basis.months, unit), None


def resolve_target(
    spec: TargetSpec | None,
    kpi: KpiDefinition,
    *,
    scored: bool,
    scored_target: Decimal | None,
    basis: TargetBasis,
    period: str,
) -> ResolvedTarget:
    """The target of one line (see the module docstring for the order).

    `scored` says whether scoring published the KPI for the entity and period, and
    `scored_target` is the target it used.
    """
    if isinstance(spec, YearlyTarget):
        target, problem = yearly_target(spec, basis, kpi.unit)
        return ResolvedTarget(target, True, problem)
    if spec is not None:
        return ResolvedTarget(spec, True)
    if scored:
        return ResolvedTarget(scored_target, False)
    return ResolvedTarget(kpi.target_for(parse_period(period).kind), False)


def region_coefficient(org: OrgChart, entity: str, on: date | None = None) -> Decimal | None:
    """The region coefficient of an entity: a region's own, a branch's, team's or agent's
    region's (an agent's team on local date `on`, else its latest); 1 for the company, which
    belongs to no region. None for an entity the chart does not know."""
    level, entity_id = parse_entity(entity)
    if level is Level.COMPANY:
        return Decimal(1) if entity_id == org.company else None
    if level in {Level.REGION, Level.BRANCH}:
        return org.coefficient(entity)
    branch = org.branch_of(entity, on)
    return None if branch is None else org.coefficient(branch)
