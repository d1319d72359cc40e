"""Targets per entity and period (DESIGN §4): the premium plan and KPI targets.

`config/targets.yaml`::

    premium_plan:
      branch_baseline_per_year: "120000000"   # a branch's yearly plan before its coefficient
      entities:                               # explicit yearly plans replace the formula
        "branch:B03": {FY2024: "150000000"}
    kpis:                                     # overrides of the catalogue's default targets
      satisfaction_mean: {branch: 85, "branch:B07": 95}

A branch's plan is the baseline × its region's coefficient (1.1 strong, 0.9 developing); a
region's is the sum of its branches', the company's the sum of its regions'; a team's and an
agent's are the branch's share by headcount. A period's plan is the year's plan × its months / 12.
A KPI target override is keyed by an entity (`branch:B07`) or a level (`branch`); the entity wins.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.config import OrgChart
from shared.config.loading import read_yaml
from shared.config.org import Level, parse_entity
from shared.errors import ConfigError

from .catalogue import KpiCatalogue
from .fiscal_calendar import FiscalCalendar, is_window, parse_period, parse_window
from .kpi_definition import KpiDefinition

CENT = Decimal("0.01")
Money = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PremiumPlan(_Frozen):
    branch_baseline_per_year: Money = Decimal(0)
    entities: dict[str, dict[str, Money]] = Field(default_factory=dict)


class TargetsDocument(_Frozen):
    premium_plan: PremiumPlan = PremiumPlan()
    kpis: dict[str, dict[str, Annotated[Decimal, Field(allow_inf_nan=False)]]] = Field(
        default_factory=dict
    )


def team_sizes(org: OrgChart) -> dict[str, int]:
    """Agents per team, by each agent's latest assignment."""
    sizes: dict[str, int] = {}
    for agent_id in org.agent_ids:
        team = org.assignments(agent_id)[-1].team
        sizes[team] = sizes.get(team, 0) + 1
    return sizes


@dataclass(frozen=True)
class Targets:
    """Plans and KPI targets for any entity and period."""

    document: TargetsDocument
    catalogue: KpiCatalogue
    org: OrgChart
    team_members: Mapping[str, int]
    _yearly: dict[tuple[str, str], Decimal | None] = field(default_factory=dict, compare=False)

    def team_size(self, team_id: str) -> int:
        """Agents whose latest assignment is to the team."""
        return self.team_members.get(team_id, 0)

    def headcount(self, entity: str) -> int | None:
        """Staff of an entity: the org chart's for a branch and up, members for a team, 1 for
        an agent."""
        level, entity_id = parse_entity(entity)
        if level is Level.TEAM:
            return self.team_size(entity_id)
        if level is Level.AGENT:
            return 1
        return self.org.headcount(entity)

    def yearly_plan(self, entity: str, fiscal_year: str) -> Decimal | None:
        """The entity's premium plan for a fiscal year (None when no plan is known)."""
        key = (entity, fiscal_year)
        if key not in self._yearly:
            self._yearly[key] = self._yearly_plan(entity, fiscal_year)
        return self._yearly[key]

    def _yearly_plan(self, entity: str, fiscal_year: str) -> Decimal | None:
        explicit = self.document.premium_plan.entities.get(entity, {}).get(fiscal_year)
        if explicit is not None:
            return explicit
        level, entity_id = parse_entity(entity)
        baseline = self.document.premium_plan.branch_baseline_per_year
        if level is Level.BRANCH:
            coefficient = self.org.coefficient(entity)
            return None if coefficient is None else baseline * coefficient
        if level in {Level.REGION, Level.COMPANY}:
            plans = [self.yearly_plan(child, fiscal_year) for child in self.org.children(entity)]
            return sum((p for p in plans if p is not None), Decimal(0))
        return self._share_of_branch(level, entity_id, fiscal_year)

    def _share_of_branch(self, level: Level, entity_id: str, fiscal_year: str) -> Decimal | None:
        if level is Level.TEAM:
            team = self.org.team(entity_id)
            branch = team.branch if team is not None else None
            members = self.team_size(entity_id)
        else:
            latest = self.org.assignments(entity_id)
            team = self.org.team(latest[-1].team) if latest else None
            branch = team.branch if team is not None else None
            members = 1
        if branch is None:
            return None
        plan = self.yearly_plan(f"branch:{branch}", fiscal_year)
        headcount = self.org.headcount(f"branch:{branch}")
        if plan is None or not headcount:
            return None
        return plan * members / headcount

    def plan(self, entity: str, period: str, calendar: FiscalCalendar) -> Decimal | None:
        """The premium plan of a period: the year's plan × its months / 12; a rolling window has
        none (plans are set for fiscal periods)."""
        if is_window(period):
            return None
        months = calendar.months_of(period)
        yearly = self.yearly_plan(entity, calendar.fiscal_year_of_month(months[0]))
        if yearly is None:
            return None
        return (yearly * len(months) / 12).quantize(CENT, rounding=ROUND_HALF_EVEN)

    def target(
        self, kpi: KpiDefinition, entity: str, period: str, calendar: FiscalCalendar
    ) -> Decimal | None:
        """The KPI's target for the entity and period (or rolling window, e.g. ``R30D``)."""
        overrides = self.document.kpis.get(kpi.id, {})
        level, _ = parse_entity(entity)
        chosen = overrides.get(entity, overrides.get(level.value))
        if chosen is not None:
            return chosen
        if is_window(period):
            return kpi.target_for_days(parse_window(period))
        return kpi.target_for(parse_period(period).kind)


def load_targets(
    path: str | os.PathLike[str], *, catalogue: KpiCatalogue, org: OrgChart
) -> Targets:
    """Read `targets.yaml`; errors name the file and field; a missing file means no plans."""
    source = os.fspath(path)
    document = read_yaml(path) if os.path.exists(source) else {}
    try:
        parsed = TargetsDocument.model_validate(document or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{source}: {problems}") from exc
    unknown = sorted(set(parsed.kpis) - set(catalogue.ids))
    if unknown:
        raise ConfigError(f"{source}: kpis: unknown KPI {', '.join(unknown)} (see kpis.yaml)")
    return Targets(parsed, catalogue, org, team_sizes(org))
