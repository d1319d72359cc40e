"""What-if scorecards: a period's scorecards under a draft profile file beside the official
ones, published nowhere.

Both sides are built here from the same scores, read from scoring's read model as the period
close reads them (`service.ScoresReader`), with the same code (`inputs.scorecard_inputs`,
`domain.build_scorecard`), so the only difference between them is the profiles: the official
side uses the loaded `scorecards.yaml`, the draft side the draft file, each at the version in
force in the period (`effective_from`). `compare` is pure; `what_if` reads the scores.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final

from shared.config import OrgChart
from shared.config.org import Level
from shared.kpi.catalogue import KpiCatalogue
from shared.kpi.fiscal_calendar import FiscalCalendar, is_window
from shared.kpi.targets import team_sizes
from shared.messages.definitions import Definitions
from shared.messages.score import Score
from shared.messages.scorecard import Grade, ScorecardStatus

from .domain import Profile, ScorecardConfig, build_scorecard
from .inputs import scorecard_inputs
from .service import ScoresReader

_GRADE_ORDER: Final = {Grade.NEEDS_IMPROVEMENT: 0, Grade.QUALIFIED: 1, Grade.EXCELLENT: 2}


@dataclass(frozen=True, slots=True)
class Side:
    """One entity's scorecard result under one profile file."""

    profile: str
    final_score: Decimal
    grade: Grade
    grade_capped: bool


@dataclass(frozen=True, slots=True)
class WhatIfRow:
    """An entity under the official and the draft profiles; a side is None when that file
    gives the entity no scorecard in the period."""

    entity: str
    official: Side | None
    draft: Side | None

    @property
    def difference(self) -> Decimal | None:
        """Draft final score − official final score (None when a side is missing)."""
        if self.official is None or self.draft is None:
            return None
        return self.draft.final_score - self.official.final_score

    @property
    def grade_change(self) -> int:
        """+1 or more when the draft grades higher, −1 or less when lower, 0 when the same."""
        if self.official is None or self.draft is None:
            return 0
        return _GRADE_ORDER[self.draft.grade] - _GRADE_ORDER[self.official.grade]


@dataclass(frozen=True)
class WhatIfReport:
    """Every entity with a scorecard under either file, in level then id order."""

    period: str
    official_version: Definitions | None
    draft_version: Definitions | None
    rows: tuple[WhatIfRow, ...]

    @property
    def compared(self) -> int:
        """Entities with a scorecard under both files."""
        return sum(1 for r in self.rows if r.official is not None and r.draft is not None)

    @property
    def grades_changed(self) -> int:
        return sum(1 for r in self.rows if r.grade_change != 0)

    @property
    def grades_up(self) -> int:
        return sum(1 for r in self.rows if r.grade_change > 0)

    @property
    def grades_down(self) -> int:
        return sum(1 for r in self.rows if r.grade_change < 0)

    @property
    def scores_changed(self) -> int:
        return sum(1 for r in self.rows if r.difference not in (None, Decimal(0)))

    @property
    def only_official(self) -> int:
        return sum(1 for r in self.rows if r.draft is None)

    @property
    def only_draft(self) -> int:
        return sum(1 for r in self.rows if r.official is None)

    def grades(self, side: str) -> dict[Grade, int]:
        """How many entities get each grade under `official` or `draft`."""
        counted = Counter(s.grade for r in self.rows if (s := getattr(r, side)) is not None)
        return {grade: counted.get(grade, 0) for grade in Grade}


@dataclass(frozen=True)
class Company:
    """What a scorecard needs besides its scores."""

    catalogue: KpiCatalogue
    calendar: FiscalCalendar
    org: OrgChart


def _order(entity: str) -> tuple[int, str]:
    levels = list(Level)
    level, _, entity_id = entity.partition(":")
    return levels.index(Level(level)), entity_id


@dataclass(frozen=True)
class _Builder:
    """Builds one side of a row: the scorecard of an entity under a profile."""

    period: str
    company: Company
    sizes: Mapping[str, int]
    as_of: datetime

    def side(self, entity: str, profile: Profile | None, scores: Sequence[Score]) -> Side | None:
        if profile is None:
            return None
        month = self.company.calendar.months_of(self.period)[0]
        inputs = scorecard_inputs(
            entity,
            self.period,
            scores,
            org=self.company.org,
            team_sizes=self.sizes,
            revision=1,
            status=ScorecardStatus.PROVISIONAL,
            as_of=self.as_of,
        )
        card = build_scorecard(inputs, profile, self.company.catalogue.as_of(month))
        return Side(profile.id, card.final_score, card.grade, card.grade_capped)


def entities_of(
    period: str, official: ScorecardConfig, draft: ScorecardConfig, company: Company
) -> list[str]:
    """Every entity of the organisation with a profile in the period under either file."""
    month = company.calendar.months_of(period)[0]
    now_official, now_draft = official.as_of(month), draft.as_of(month)
    found = [
        entity
        for level in Level
        for entity in company.org.entities(level)
        if now_official.profile_for(entity) is not None or now_draft.profile_for(entity) is not None
    ]
    return sorted(found, key=_order)


def compare(
    period: str,
    readings: Mapping[str, Sequence[Score]],
    *,
    official: ScorecardConfig,
    draft: ScorecardConfig,
    company: Company,
    as_of: datetime,
    official_version: Definitions | None = None,
    draft_version: Definitions | None = None,
) -> WhatIfReport:
    """The period's scorecards under both files, entity by entity, from the same scores."""
    if is_window(period):
        raise ValueError(f"{period!r} is a rolling window; scorecards are for fiscal periods")
    month = company.calendar.months_of(period)[0]
    now_official, now_draft = official.as_of(month), draft.as_of(month)
    builder = _Builder(period, company, team_sizes(company.org), as_of)
    rows = []
    for entity in entities_of(period, official, draft, company):
        scores = readings.get(entity, ())
        rows.append(
            WhatIfRow(
                entity,
                builder.side(entity, now_official.profile_for(entity), scores),
                builder.side(entity, now_draft.profile_for(entity), scores),
            )
        )
    return WhatIfReport(period, official_version, draft_version, tuple(rows))


async def what_if(
    reader: ScoresReader,
    period: str,
    *,
    official: ScorecardConfig,
    draft: ScorecardConfig,
    company: Company,
    as_of: datetime,
    official_version: Definitions | None = None,
    draft_version: Definitions | None = None,
) -> WhatIfReport:
    """`compare` on the period's scores from scoring's read model."""
    entities = entities_of(period, official, draft, company)
    readings = await reader.period_scores(entities, period)
    return compare(
        period,
        readings,
        official=official,
        draft=draft,
        company=company,
        as_of=as_of,
        official_version=official_version,
        draft_version=draft_version,
    )
