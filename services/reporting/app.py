"""Composition root of the reporting service: the one place its pieces are built and wired."""

import time
from datetime import UTC, datetime, timedelta

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from prometheus_client import CollectorRegistry
from pydantic import ValidationError
from pymongo import AsyncMongoClient

from services.alerts.read_model import AlertQueries, mongo_alert_queries
from services.scoring.read_model import (
    ScoreQueries,
    StateScoreQueries,
    generation_score_queries,
    mongo_score_queries,
)
from shared import mongo, topics
from shared.kafka import RawBatch, create_broker, headerless_batch, raw_body
from shared.kafka_output import KafkaOutput, OutputPort
from shared.kpi.config import KpiConfig, load_kpi_config
from shared.messages import DeadLetter
from shared.metrics import create_registry, faststream_middleware
from shared.progress import BatchTimings
from shared.progress_board import MongoProgressBoard, ProgressQueries
from shared.service import ServiceApp, build_service
from shared.service.periodic import Periodic
from shared.settings import Settings

from .api.routes import api_router, legacy_router
from .console.routes import console_router
from .console.whatif_page import whatif_router
from .deadletters import DeadLetterSummary
from .definitions_follow import DefinitionsFollower
from .domain import ScorecardConfig, load_profiles
from .offsets import BrokerOffsets, KafkaOffsets
from .pipeline_sampler import SAMPLE_EVERY_S, OffsetSampler
from .reads import InForce, ReportingReads
from .service import ReportingMetrics, ReportingService, reading
from .store import MongoScorecardStore, ScorecardStore
from .upstream import PipelineUpstream, Upstream

NAME = "reporting"
API_DESCRIPTION = (
    "Read-only JSON API of the reporting service (DESIGN §11), versioned under /api/v1: "
    "current scores of an entity and period, the organisation with current values, "
    "scorecards (JSON, CSV or a printable HTML page), alerts, dead-letter counts and the "
    "pipeline's figures (consumer lag, events/s, batch latency, watermarks). Values "
    "are decimal strings, ratios as fractions 0–1, null when a KPI has no denominator. A "
    "malformed parameter is a 422 and an unknown entity or scorecard a 404, each with a "
    "Problem body naming it. No answer carries a customer identifier or a phone hash. The "
    "console (HTML, en/zh/ja) is served at /."
)


def read_letters(summary: DeadLetterSummary, batch: RawBatch) -> None:
    """Count a batch of kpi.deadletter.v1; a record that is no dead letter is counted apart."""
    letters: list[DeadLetter] = []
    for record in batch:
        summary.read_through(record.topic, record.partition, record.offset)
        try:
            letters.append(DeadLetter.model_validate_json(record.value or b""))
        except ValidationError:
            summary.add_unreadable()
    summary.add(letters)


def create_app(
    settings: Settings,
    *,
    broker: KafkaBroker | None = None,
    mongo_client: AsyncMongoClient[mongo.Document] | None = None,
    registry: CollectorRegistry | None = None,
    store: ScorecardStore | None = None,
    output: OutputPort | None = None,
    scores: ScoreQueries | None = None,
    alerts: AlertQueries | None = None,
    upstream: Upstream | None = None,
    offsets: BrokerOffsets | None = None,
    progress: ProgressQueries | None = None,
) -> ServiceApp:
    """Build the reporting service; a bad scorecards.yaml stops it here, naming the profile.
    `scores` and `alerts` are the scoring and alerts services' read models (default: on their
    MongoDB state); `upstream` tells whether ingest and scoring have applied everything
    (default: from Kafka and scoring's read model);
    `offsets` and `progress` are what the pipeline page reads (default: the broker's offsets and
    the progress board on MongoDB)."""
    client = mongo_client or mongo.create_client(settings, app_name=f"kpi-{NAME}")
    config = load_kpi_config(settings.config_dir)  # calendar, KPIs, org and targets, checked
    profiles = load_profiles(settings.config_dir, config.catalogue, org=config.org)
    own_scores: StateScoreQueries | None = None
    if scores is None:  # on MongoDB: the previous generation can be read too
        own_scores = scores = mongo_score_queries(client, settings.mongodb_database, config)
    # The service's definitions, the console's and the read model's: a switch replaces them.
    in_force = InForce(config, profiles, own_scores)

    registry = registry or create_registry()
    broker = broker or create_broker(
        settings, client_id=f"kpi-{NAME}", middlewares=[faststream_middleware(registry, NAME)]
    )
    card_store = store or MongoScorecardStore(client, settings.mongodb_database)
    kafka_output = KafkaOutput(settings, client_id=f"kpi-{NAME}-out") if output is None else None
    metrics = ReportingMetrics(registry)
    upstream = upstream or PipelineUpstream(settings, scores)

    def reporting(config: KpiConfig, profiles: ScorecardConfig) -> ReportingService:
        return ReportingService(
            config=profiles,
            catalogue=config.catalogue,
            calendar=config.calendar,
            org=config.org,
            reader=scores,
            store=card_store,
            output=output or kafka_output,  # type: ignore[arg-type]
            metrics=metrics,
            idle_after=timedelta(seconds=settings.idle_timeout_s),
            upstream=upstream,
            definitions=config.definitions,
        )

    def rebuild() -> ReportingService:
        """The service on the definitions in the files now (after a generation switch); the
        API, the console and the read model answer with them from now on too."""
        in_force.reload(settings.config_dir)
        return reporting(in_force.config, in_force.profiles)

    def previous(service: ReportingService, generation: str) -> ReportingService:
        db = settings.mongodb_database
        return reading(service, generation_score_queries(client, db, in_force.config, generation))

    follower = DefinitionsFollower(
        reporting(config, profiles),
        scores=scores,
        store=card_store,
        rebuild=rebuild,
        previous=previous if own_scores is not None else None,
    )
    ticker = Periodic("reporting-tick", follower.tick, settings.reporting_tick_s, run_first=True)

    # The dead-letter counts are rebuilt from the topic's beginning on every start: no group,
    # nothing committed (deadletters.py).
    letters = DeadLetterSummary()

    @broker.subscriber(
        topics.DEADLETTER,
        group_id=None,
        batch=True,
        max_records=5_000,
        batch_timeout_ms=200,
        auto_offset_reset="earliest",
        parser=headerless_batch,
        decoder=raw_body,
    )
    async def on_dead_letters(message: KafkaMessage) -> None:
        started = time.perf_counter()
        read_letters(letters, message.raw_message)
        batches.observe(time.perf_counter() - started, len(message.raw_message), datetime.now(UTC))

    batches = BatchTimings(NAME)
    sampler = OffsetSampler(offsets or KafkaOffsets(settings), scores, letters.positions)
    sampling = Periodic("pipeline-offsets", sampler.sample, SAMPLE_EVERY_S, run_first=True)

    reads = ReportingReads(
        in_force=in_force,
        scores=scores,
        alerts=alerts or mongo_alert_queries(client, settings.mongodb_database),
        scorecards=card_store,
        letters=letters,
        close_status=lambda: follower.service.close_status(),  # noqa: PLW0108 - the one in use
        progress=progress or MongoProgressBoard(client, settings.mongodb_database),
        sampler=sampler,
        own_batches=batches,
    )

    async def start_dependencies() -> None:
        await card_store.ensure_schema()
        if kafka_output is not None:
            await kafka_output.start()
        ticker.start()
        sampling.start()

    async def stop_dependencies() -> None:
        await sampling.stop()
        await ticker.stop()
        if kafka_output is not None:
            await kafka_output.stop()

    app = build_service(
        NAME,
        settings,
        broker=broker,
        mongo_client=client,
        registry=registry,
        routers=[
            api_router(reads),
            legacy_router(reads),
            console_router(reads, settings.runbooks_dir),
            whatif_router(reads, settings.config_dir),
        ],
        on_startup=[start_dependencies],
        on_shutdown=[stop_dependencies],
    )
    app.http.title = "Insurance KPI platform: reporting"
    app.http.description = API_DESCRIPTION
    app.extra["service"] = follower.service
    app.extra["follower"] = follower
    app.extra["reads"] = reads
    return app
