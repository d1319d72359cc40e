"""A scorecard on `kpi.scorecards.v1` (DESIGN §6, §11): one entity's weighted score for one
closed period under one profile.

A scorecard is published when its period closes (`provisional`), again each time late events
change its figures (`revised`, revision + 1), and once more when the allowed lateness has passed
(`final`). `scorecard_id` is deterministic per (entity, period, profile, revision), so a consumer
that sees a revision twice can drop the copy. Scores are points out of 100 as Decimals; ratios
(attainment) are fractions 0–1 like every other value of the platform.
"""

import hashlib
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from .definitions import Definitions, RevisionReason

_Text = Annotated[str, StringConstraints(min_length=1)]


class Labels(BaseModel):
    """One text in English, Chinese and Japanese."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    en: _Text
    zh: _Text
    ja: _Text


class Grade(StrEnum):
    """≥ 90 excellent, 80–90 qualified, < 80 needs improvement (DESIGN §6)."""

    EXCELLENT = "excellent"
    QUALIFIED = "qualified"
    NEEDS_IMPROVEMENT = "needs_improvement"


class ScorecardStatus(StrEnum):
    """Where a scorecard is in its period's close."""

    PROVISIONAL = "provisional"
    REVISED = "revised"
    FINAL = "final"


class Category(StrEnum):
    """The three weighted parts of a profile (DESIGN §6)."""

    PERFORMANCE = "performance"
    CUSTOMER_SERVICE = "customer_service"
    CAPABILITY = "capability"


class Trend(StrEnum):
    """The final score against the previous period's."""

    UP = "up"
    DOWN = "down"
    FLAT = "flat"
    NEW = "new"


class KpiLine(BaseModel):
    """One KPI of the scorecard: what was achieved against what, and the points it earned."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kpi: str
    category: Category
    weight: Decimal = Field(description="Points the KPI is worth, out of 100")
    method: Literal["proportional", "bands"]
    actual: Decimal | None = Field(description="The KPI's value; null with no denominator")
    target: Decimal | None
    attainment: Decimal | None = Field(description="actual / target (inverted for lower-is-better)")
    points: Decimal = Field(description="Points earned, 0 … weight × cap")


class Veto(BaseModel):
    """A condition that caps the grade at qualified, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kpi: str
    reason: str = Field(description="English; `reasons` holds en, zh and ja")
    reasons: Labels
    actual: Decimal
    limit: Decimal


class Scorecard(BaseModel):
    """One entity's scorecard for one period; DESIGN §11's shape plus context fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    scorecard_id: str
    entity: str = Field(description="LEVEL:ID, e.g. branch:B01")
    period: str = Field(description="2024-03, FY2023-Q1, FY2023-H1, FY2023")
    profile: str = Field(description="The profile id of scorecards.yaml")
    revision: int = Field(ge=1)
    status: ScorecardStatus
    quantitative_score: Decimal = Field(description="Sum of the KPI points, 0–100")
    qualitative_score: Decimal | None = Field(
        description="The assessment score 0–100; null when there was none"
    )
    qualitative_note: str | None = Field(
        default=None, description="Set when no assessment was found: the fallback applied"
    )
    final_score: Decimal = Field(description="quantitative × 70% + qualitative × 30% (default)")
    grade: Grade
    grade_capped: bool = Field(default=False, description="A veto lowered the grade")
    vetoes: list[Veto] = Field(default_factory=list)
    rank: int | None = Field(description="1 = best among `peers` at the same level and profile")
    peers: int = Field(ge=0, description="How many entities were ranked, this one included")
    previous_final_score: Decimal | None = None
    trend: Trend = Trend.NEW
    quadrant: str | None = Field(description="The quadrant id, null when an axis has no value")
    quadrant_labels: Labels | None = None
    coaching: Labels | None = Field(default=None, description="The quadrant's coaching action")
    kpis: list[KpiLine]
    activity: bool = Field(description="Whether any event of the period reached the entity")
    notes: list[str] = Field(default_factory=list, description="Plain-English remarks")
    as_of: AwareDatetime = Field(description="When this revision was built")
    definitions: Definitions | None = Field(
        default=None, description="The KPI definitions version the scorecard was built with"
    )
    revision_reason: RevisionReason | None = Field(
        default=None,
        description="Set when this revision is not for late events: definition_change, a "
        "recomputation under new definitions (kpi recompute)",
    )
    previous_definitions: Definitions | None = Field(
        default=None,
        description="With definition_change: the definitions of the revision this one replaces",
    )

    @staticmethod
    def make_id(entity: str, period: str, profile: str, revision: int) -> str:
        """The id of a scorecard revision: the same inputs always give the same id."""
        text = f"scorecard|{entity}|{period}|{profile}|{revision}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]
