"""The shapes `/api/v1` answers with (and the console is drawn from): frozen pydantic models,
documented in docs/openapi.json. Values follow DESIGN §11: ratios as fractions 0–1, decimals
as strings, a KPI with no denominator null. No shape carries a customer identifier or a phone
hash."""

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.config.org import Level
from shared.messages.alert import AlertSeverity, AlertState
from shared.messages.scorecard import Grade, ScorecardStatus

Language = Literal["en", "zh", "ja"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Names(_Out):
    """A text in English, Chinese and Japanese."""

    en: str
    zh: str
    ja: str


class Kpi(_Out):
    """A KPI of the catalogue (config/kpis.yaml)."""

    kpi: str
    names: Names
    unit: str = Field(description="ratio, money, count, days, …: how the value reads")
    direction: str = Field(description="higher_is_better or lower_is_better")


class KpiList(_Out):
    kpis: list[Kpi]


class ScoreOut(_Out):
    """A score as DESIGN §11 writes it: one KPI of one entity for one period, now."""

    entity: str = Field(description="LEVEL:ID, e.g. branch:B01")
    period: str = Field(description="2024-03, FY2023-Q1, FY2023-H1, FY2023 or R30D")
    kpi: str
    value: Decimal | None
    numerator: Decimal | None
    denominator: Decimal | None
    target: Decimal | None
    attainment: Decimal | None = Field(description="1 is on target; above 1 beats it")
    revision: int
    as_of: datetime = Field(description="Stream time the value was computed at")


class EntityScores(_Out):
    """Every KPI of an entity for a period."""

    entity: str
    name: str | None = Field(description="The name org.yaml gives the entity, if any")
    level: Level
    period: str
    as_of: datetime | None = Field(description="Stream time; null before any event was applied")
    scores: list[ScoreOut]


class KpiValue(_Out):
    """One KPI of a hierarchy node."""

    kpi: str
    value: Decimal | None
    target: Decimal | None
    attainment: Decimal | None


class HierarchyNode(_Out):
    """An entity with its KPI values for the period and the entities below it."""

    entity: str
    name: str | None
    level: Level
    values: list[KpiValue]
    children: list["HierarchyNode"] = Field(
        description="Regions of the company, branches of a region, teams of a branch, agents "
        "of a team (as assigned at the period's end or at stream time, whichever is earlier)"
    )


class Hierarchy(_Out):
    """The organisation from `root` down, with current values."""

    period: str
    as_of: datetime | None
    root: HierarchyNode


class VetoOut(_Out):
    kpi: str
    reason: str


class ScorecardSummary(_Out):
    """The headline of the newest revision of one entity's scorecard."""

    entity: str
    name: str | None
    level: Level
    period: str
    profile: str
    revision: int
    status: ScorecardStatus
    final_score: Decimal
    grade: Grade
    grade_capped: bool
    vetoes: list[VetoOut]
    rank: int | None
    peers: int


class PeriodScorecards(_Out):
    """Every entity's scorecard of one closed period, with the grade distribution."""

    period: str
    grades: dict[Grade, int] = Field(description="Scorecards per grade, every grade present")
    vetoed: int = Field(description="Scorecards with at least one veto")
    scorecards: list[ScorecardSummary]


class ScorecardPeriods(_Out):
    """The periods that have scorecards (closed periods), newest first."""

    periods: list[str]


class AlertOut(_Out):
    """An alert as people may see it: its evidence without customer ids or phone hashes."""

    alert_id: str
    rule: str
    severity: AlertSeverity
    state: AlertState
    entity: str
    name: str | None
    kpi: str | None
    period: str | None
    value: Decimal | None
    threshold: Decimal | None
    message: str = Field(description="In the language asked for (lang)")
    runbook_url: str
    started_at: datetime
    resolved_at: datetime | None
    evidence: dict[str, str | int | float | bool | None] = Field(
        description="What the rule found; customer ids and phone hashes are counted, not shown"
    )


class AlertList(_Out):
    firing: int = Field(description="Alerts firing now (whatever the filters)")
    resolved: int = Field(description="Alerts resolved (whatever the filters)")
    alerts: list[AlertOut]


class ReasonSourceCount(_Out):
    reason: str
    source_topic: str
    count: int


class HourCount(_Out):
    hour: datetime = Field(description="The hour the letters were received (UTC)")
    by_reason: dict[str, int]


class DeadLetterSampleOut(_Out):
    """A dead letter without its payload; its detail without personal data."""

    reason: str
    detail: str
    source_topic: str
    partition: int
    offset: int
    received_at: datetime


class DeadLetterReport(_Out):
    """kpi.deadletter.v1 counted by reason and source, since the topic began."""

    total: int
    unreadable: int = Field(description="Records on the topic that are not dead letters")
    by_reason: dict[str, int]
    by_source_topic: dict[str, int]
    by_reason_and_source: list[ReasonSourceCount]
    by_hour: list[HourCount]
    samples: list[DeadLetterSampleOut] = Field(description="The newest few of each reason")
    latest_received_at: datetime | None
    redrive_command: str = Field(description="What to run once the cause is fixed")


class ScoringClock(_Out):
    """Scoring's event time, from its read model."""

    low_watermark: datetime | None
    latest_event: datetime | None
    earliest_event: datetime | None
    last_commit: datetime | None
    backlog: bool = Field(description="Records were left to read at the last commit")


class CloseClock(_Out):
    """Reporting's own close clock and what it has closed."""

    close_clock: datetime | None
    horizon: str | None = Field(description="The first month reporting closes from")
    open_periods: int = Field(description="Closed periods still within their allowed lateness")
    final_periods: int


class PrometheusFigure(_Out):
    """A figure only Prometheus has: the query that shows it."""

    figure: str
    service: str
    query: str


class PartitionLag(_Out):
    """How far a service is behind on one partition of its input."""

    service: str
    topic: str
    partition: int
    position: int = Field(description="The offset of the next record the service will process")
    end: int = Field(description="The partition's end: its last offset + 1")
    lag: int = Field(description="Records between the position and the end")


WatermarkKind = Literal["low_watermark", "latest_event", "close_clock"]


class ServiceFigures(_Out):
    """One service's lag, throughput, batch latency and event time."""

    service: str
    inputs: list[str] = Field(description="The topics it consumes")
    lag: int | None = Field(description="Records left on its inputs; null before a sample")
    events_per_s: float | None = Field(
        description="Records it finished per second over the last samples; null before two"
    )
    rate_seconds: float | None = Field(description="The time the rate is taken over")
    batches: int | None = Field(description="Batches since it started; null if never published")
    batch_p50_s: float | None = Field(description="Median batch time of its recent batches")
    batch_p95_s: float | None
    batch_max_s: float | None
    recent_batches: int = Field(description="How many recent batches the latencies are over")
    last_batch_at: datetime | None
    published_at: datetime | None = Field(description="When it last published its progress")
    watermark: datetime | None = Field(description="Its event time (see watermark_kind)")
    watermark_kind: WatermarkKind = Field(
        description="low_watermark: every input read up to it; latest_event: the latest event "
        "time seen; close_clock: the clock reporting closes periods on"
    )


class Pipeline(_Out):
    """The pipeline's figures: per service from the broker's offsets and the progress the
    services publish, the clocks from the read models, and the queries of what only Prometheus
    keeps (histories, other quantiles)."""

    services: list[ServiceFigures]
    partitions: list[PartitionLag]
    sampled_at: datetime | None = Field(description="When the offsets were last read")
    offsets_error: str | None = Field(description="Why the last reading failed, if it did")
    scoring: ScoringClock | None = Field(description="Null before scoring's first commit")
    reporting: CloseClock
    alerts_firing: int
    dead_letters: int
    latest_dead_letter: datetime | None
    prometheus: list[PrometheusFigure]
