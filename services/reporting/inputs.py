"""What one entity's scorecard is built from, gathered from scoring's scores of the period and
the organisation: shared by the period close (`service.py`) and the what-if (`whatif.py`), so
both build a scorecard from the same figures the same way."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Final

from shared.config import OrgChart
from shared.config.org import Level, parse_entity
from shared.messages.definitions import Definitions
from shared.messages.score import Score
from shared.messages.scorecard import ScorecardStatus

from .domain import ScorecardInputs, region_coefficient

ASSESSMENT_KPI: Final = "assessment_score"


def active(scores: Sequence[Score]) -> bool:
    """Whether any event of the period reached the entity: some KPI counted something."""
    return any(s.numerator is not None and s.numerator != 0 for s in scores)


def headcount(org: OrgChart, team_sizes: Mapping[str, int], entity: str) -> int | None:
    """The staff a profile's per-head baselines are multiplied by."""
    level, entity_id = parse_entity(entity)
    match level:
        case Level.AGENT:
            return 1
        case Level.TEAM:
            return team_sizes.get(entity_id)
        case Level.BRANCH:
            branch = org.branch(entity_id)
            return branch.headcount if branch is not None else None
        case Level.REGION:
            return sum(b.headcount for b in org.branches if b.region == entity_id)
        case Level.COMPANY:
            return sum(b.headcount for b in org.branches)


def scorecard_inputs(
    entity: str,
    period: str,
    scores: Sequence[Score],
    *,
    org: OrgChart,
    team_sizes: Mapping[str, int],
    revision: int,
    status: ScorecardStatus,
    as_of: datetime,
    previous_final_score: Decimal | None = None,
    definitions: Definitions | None = None,
) -> ScorecardInputs:
    """The inputs of an entity's scorecard for a period from its scores (the assessment
    clamped to 0–100)."""
    by_kpi: Mapping[str, Score] = {s.kpi: s for s in scores}
    assessment = by_kpi.get(ASSESSMENT_KPI)
    assessed = assessment.value if assessment is not None else None
    return ScorecardInputs(
        entity=entity,
        period=period,
        readings=by_kpi,
        revision=revision,
        status=status,
        activity=active(scores),
        as_of=as_of,
        assessment=None if assessed is None else min(max(assessed, Decimal(0)), Decimal(100)),
        previous_final_score=previous_final_score,
        coefficient=region_coefficient(org, entity),
        headcount=headcount(org, team_sizes, entity),
        definitions=definitions,
    )
