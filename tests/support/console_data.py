"""A small, realistic state of the demo company for the API and console tests, held in the
in-memory read models (fakes, not mocks): scores of the company, region R1, branch B01, team T01
and agent A0001 for twelve months, scorecards of March 2025, a firing fraud alert whose
evidence names customers and a phone hash, a resolved threshold alert, and dead letters of
which one quotes a customer id.

`reporting_app()` builds the reporting service as its composition root does, on these fakes.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Final

from services.alerts.read_model import MemoryAlertQueries
from services.reporting.app import create_app
from services.reporting.offsets import MemoryOffsets
from services.reporting.pipeline_figures import Bounds, Partition
from services.reporting.reads import ReportingReads
from services.scoring.read_model import GroupClock, MemoryScoreQueries
from shared.events.decoding import RejectReason
from shared.kpi.catalogue import load_catalogue
from shared.kpi.kpi_values import attainment
from shared.messages import Alert, AlertMessages, AlertSeverity, AlertState, DeadLetter, Score
from shared.messages.scorecard import Scorecard
from shared.progress import ServiceProgress
from shared.progress_board import MemoryProgressBoard
from shared.service import ServiceApp
from shared.settings import Settings, load_settings
from tests.support.fake_scorecard_store import MemoryScorecardStore
from tests.support.fakes import RecordingOutput
from tests.support.scorecard_sample import sample_scorecard

CONFIG: Final = Path(__file__).resolve().parents[2] / "config"
CATALOGUE: Final = load_catalogue(CONFIG / "kpis.yaml")
PATH: Final = ("company:ACME", "region:R1", "branch:B01", "team:T01", "agent:A0001")
MONTHS: Final = tuple(
    f"{2024 + (m > 12)}-{(m - 1) % 12 + 1:02d}" for m in range(4, 16)
)  # 2024-04 … 2025-03
LATEST: Final = datetime(2025, 3, 28, 3, tzinfo=UTC)
CLOCK: Final = GroupClock(
    low=LATEST - timedelta(hours=1),
    latest=LATEST,
    committed_at=datetime(2025, 3, 28, 3, 5, tzinfo=UTC),
    backlog=False,
    earliest=datetime(2024, 4, 1, tzinfo=UTC),
)
CUSTOMER: Final = "CUST-000417"
PHONE_HASH: Final = "hmac-sha256:" + "5e" * 32


def renewal_rate(entity: str, month_index: int) -> Decimal:
    """A renewal rate that differs by entity and month: 0.80 + 0.01 × month + 0.02 × depth."""
    return Decimal("0.80") + Decimal("0.01") * month_index + Decimal("0.02") * PATH.index(entity)


def score(entity: str, period: str, kpi: str, value: Decimal | None) -> Score:
    definition = CATALOGUE[kpi]
    target = Decimal("0.90") if kpi == "renewal_rate" else None
    numerator = None if value is None else value * 100
    denominator = None if value is None else Decimal(100)
    return Score(
        score_id=Score.make_id(
            entity, period, kpi, numerator=numerator, denominator=denominator, revision=1
        ),
        entity=entity,
        period=period,
        kpi=kpi,
        value=value,
        numerator=numerator,
        denominator=denominator,
        target=target,
        attainment=attainment(value, target, definition.direction),
        revision=1,
        as_of=LATEST,
    )


def scores() -> list[Score]:
    """renewal_rate and survey_top_box of every entity on the path for every month, and R30D
    of the company, region and branch."""
    found = []
    for entity in PATH:
        for index, month in enumerate(MONTHS):
            found.append(score(entity, month, "renewal_rate", renewal_rate(entity, index)))
            found.append(score(entity, month, "survey_top_box", None))
        if entity.split(":")[0] in {"company", "region", "branch"}:
            found.append(score(entity, "R30D", "renewal_rate", Decimal("0.875")))
    # A peer of B01 in March, for the rank among peers.
    found.append(score("branch:B02", "2025-03", "renewal_rate", Decimal("0.99")))
    return found


def alerts() -> list[Alert]:
    fraud_text = f"agent:A0001: one callback phone used by 3 customers ({CUSTOMER}, C-2, C-3)"
    fraud = Alert(
        alert_id=Alert.make_id("fraud_shared_callback_phone", "agent:A0001", None, "2025-03"),
        rule="fraud_shared_callback_phone",
        severity=AlertSeverity.CRITICAL,
        state=AlertState.FIRING,
        entity="agent:A0001",
        kpi=None,
        period="2025-03",
        value=Decimal(3),
        threshold=Decimal(3),
        message=fraud_text,
        messages=AlertMessages(en=fraud_text, zh=fraud_text, ja=fraud_text),
        runbook_url="docs/runbooks/fraud_shared_callback_phone.md",
        started_at=datetime(2025, 3, 20, tzinfo=UTC),
        evidence={
            "callback_phone_hash": PHONE_HASH,
            "customer_ids": [CUSTOMER, "C-2", "C-3"],
            "response_ids": ["R1", "R2", "R3"],
            "window_days": 30.0,
        },
    )
    low = Alert(
        alert_id=Alert.make_id("renewal_rate_low", "branch:B01", "renewal_rate", "2025-02"),
        rule="renewal_rate_low",
        severity=AlertSeverity.WARNING,
        state=AlertState.RESOLVED,
        entity="branch:B01",
        kpi="renewal_rate",
        period="2025-02",
        value=Decimal("0.79"),
        threshold=Decimal("0.8"),
        message="branch:B01: renewal rate 0.79 below 0.8 in 2025-02",
        messages=AlertMessages(en="below (en)", zh="低于 (zh)", ja="下回り (ja)"),
        runbook_url="docs/runbooks/renewal_rate_low.md",
        started_at=datetime(2025, 2, 10, tzinfo=UTC),
        resolved_at=datetime(2025, 2, 20, tzinfo=UTC),
    )
    return [fraud, low]


def dead_letters() -> list[DeadLetter]:
    at = datetime(2025, 3, 28, 2, 15, tzinfo=UTC)

    def letter(reason: RejectReason, detail: str, topic: str, offset: int) -> DeadLetter:
        return DeadLetter(
            reason=reason,
            detail=detail,
            source_topic=topic,
            partition=0,
            offset=offset,
            received_at=at + timedelta(minutes=offset),
            payload_base64="e30=",
        )

    return [
        letter(
            RejectReason.SCHEMA_VIOLATION,
            f"customer_id: '{CUSTOMER}' does not match the pattern ^C",
            "insurance.survey.v1",
            1,
        ),
        letter(RejectReason.MALFORMED_JSON, "not valid JSON: x", "insurance.policy.v1", 2),
        letter(RejectReason.MALFORMED_JSON, "not valid JSON: y", "insurance.policy.v1", 3),
        letter(
            RejectReason.UNKNOWN_ENTITY,
            "agent_id: 'A9999' is not an agent of the organisation",
            "insurance.policy.v1",
            75,
        ),
    ]


def scorecards() -> list[Scorecard]:
    """March 2025: B01 (the sample, excellent) and B02 (vetoed)."""
    first = sample_scorecard().model_copy(update={"entity": "branch:B01", "rank": 1, "peers": 2})
    second = sample_scorecard(vetoes=True).model_copy(
        update={"entity": "branch:B02", "rank": 2, "peers": 2}
    )
    return [
        card.model_copy(
            update={"scorecard_id": Scorecard.make_id(card.entity, card.period, "branch", 2)}
        )
        for card in (first, second)
    ]


# The pipeline: two samples of the offsets a minute apart (SAMPLED, SAMPLED + 60 s).
SAMPLED: Final = datetime(2025, 3, 28, 3, 10, tzinfo=UTC)
POLICY, SURVEY = ("insurance.policy.v1", 0), ("insurance.survey.v1", 0)
EVENTS_0, EVENTS_1 = ("kpi.events.v1", 0), ("kpi.events.v1", 1)
SCORES_0, LETTERS_0 = ("kpi.scores.v1", 0), ("kpi.deadletter.v1", 0)


def offsets_then() -> tuple[dict[Partition, Bounds], dict[str, dict[Partition, int]]]:
    """The first sample: bounds, and the groups' commits (ingest's, alerts')."""
    bounds = {
        POLICY: Bounds(0, 1_000),
        SURVEY: Bounds(0, 200),
        EVENTS_0: Bounds(0, 1_100),
        EVENTS_1: Bounds(0, 50),
        SCORES_0: Bounds(0, 400),
        LETTERS_0: Bounds(0, 4),
    }
    committed = {
        "kpi-ingest": {POLICY: 700, SURVEY: 200},
        "kpi-alerts": {SCORES_0: 300, EVENTS_0: 1_000, EVENTS_1: 50},
    }
    return bounds, committed


def offsets_now() -> tuple[dict[Partition, Bounds], dict[str, dict[Partition, int]]]:
    """A minute later: ingest read 300 more policies (5/s), alerts 120 more scores and 60
    events (3/s); ingest is 300 behind on policies, alerts 40 on scores and 100 on events."""
    bounds, committed = offsets_then()
    bounds |= {POLICY: Bounds(0, 1_300), EVENTS_0: Bounds(0, 1_160), SCORES_0: Bounds(0, 460)}
    committed["kpi-ingest"][POLICY] = 1_000
    committed["kpi-alerts"] |= {SCORES_0: 420, EVENTS_0: 1_060}
    return bounds, committed


# Scoring's positions (its read model): 900 then 1,140 of partition 0 (4/s), 20 behind.
SCORING_THEN: Final = {EVENTS_0: 900, EVENTS_1: 50}
SCORING_NOW: Final = {EVENTS_0: 1_140, EVENTS_1: 50}
INGEST_LOW: Final = datetime(2025, 3, 28, 2, 59, tzinfo=UTC)
ALERTS_LATEST: Final = datetime(2025, 3, 28, 3, 1, tzinfo=UTC)


def progress() -> list[ServiceProgress]:
    """What ingest, scoring and alerts published of their batches."""

    def published(
        service: str, p50: float, p95: float, watermark: datetime | None
    ) -> ServiceProgress:
        return ServiceProgress(
            service=service,
            published_at=SAMPLED + timedelta(seconds=58),
            batches=120,
            records=24_000,
            last_batch_at=SAMPLED + timedelta(seconds=55),
            last_batch_s=p50,
            recent=100,
            p50_s=p50,
            p95_s=p95,
            max_s=p95 * 2,
            watermark=watermark,
        )

    return [
        published("alerts", 0.012, 0.05, ALERTS_LATEST),
        published("ingest", 0.08, 0.25, INGEST_LOW),
        published("scoring", 0.4, 1.5, None),
    ]


def settings() -> Settings:
    # Nothing listens on port 1: building the app must not connect anywhere.
    return load_settings(
        KPI_CONFIG_DIR=CONFIG,
        KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1",
        MONGODB_URI="mongodb://127.0.0.1:1/?retryWrites=false",
        KPI_LOCAL_STACK=True,
        KPI_RUNBOOKS_DIR=CONFIG.parent / "docs" / "runbooks",
    )


@dataclass
class ConsoleState:
    """The reporting app on fakes, and the fakes, for a test to look into or change."""

    app: ServiceApp
    reads: ReportingReads
    scores: MemoryScoreQueries
    alerts: MemoryAlertQueries
    store: MemoryScorecardStore
    offsets: MemoryOffsets


async def reporting_app(*, empty: bool = False) -> ConsoleState:
    """The reporting service built on fakes holding this module's state (or nothing)."""
    score_queries = MemoryScoreQueries() if empty else MemoryScoreQueries(scores(), CLOCK)
    alert_queries = MemoryAlertQueries([] if empty else alerts())
    store = MemoryScorecardStore()
    if not empty:
        await store.save(scorecards())
    offsets = MemoryOffsets()
    app = create_app(
        settings(),
        store=store,
        output=RecordingOutput(),
        scores=score_queries,
        alerts=alert_queries,
        offsets=offsets,
        progress=MemoryProgressBoard([] if empty else progress()),
    )
    reads = app.extra["reads"]
    assert isinstance(reads, ReportingReads)
    if not empty:
        reads.letters.add(dead_letters())
        reads.letters.read_through(*LETTERS_0, 2)  # three of the four records read
        offsets.set(*offsets_then())
        score_queries.set_positions(SCORING_THEN)
        await reads.sampler.sample(SAMPLED)
        offsets.set(*offsets_now())
        score_queries.set_positions(SCORING_NOW)
        await reads.sampler.sample(SAMPLED + timedelta(seconds=60))
    return ConsoleState(app, reads, score_queries, alert_queries, store, offsets)
