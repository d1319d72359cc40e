"""Composition root of the alerts service: the one place its pieces are built and wired."""

import time
from datetime import UTC, datetime

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import Consumer, KafkaMessage
from faststream.middlewares import AckPolicy
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient

from services.scoring.read_model import ScoreQueries, mongo_score_queries
from shared import mongo, topics
from shared.config import OrgChart
from shared.config.org import Level
from shared.kafka import RawBatch, create_broker, headerless_batch, raw_body
from shared.kafka_output import KafkaOutput, OutputPort
from shared.kpi.config import load_kpi_config
from shared.messages.score import Score
from shared.metrics import create_registry, faststream_middleware
from shared.progress import BatchTimings
from shared.progress_board import (
    PUBLISH_EVERY_S,
    MongoProgressBoard,
    ProgressPublisher,
    ProgressWriter,
)
from shared.service import ServiceApp, build_service
from shared.service.periodic import Periodic
from shared.settings import Settings

from .domain.engine import AlertEngine
from .domain.rules import load_rules
from .metrics import AlertGauges, AlertsMetrics, KpiGauges
from .published import KafkaPublishedAlerts, PublishedAlerts
from .service import AlertsService, RawRecord, WindowReader
from .store import AlertStore, MongoAlertStore

NAME = "alerts"
GROUP_ID = topics.ALERTS_GROUP
MAX_BATCH = 5_000
ROLLING_WINDOW = "R30D"


def raw_records(batch: RawBatch) -> list[RawRecord]:
    """The batch as the alerts service reads it: values only; keys and headers are not read."""
    return [RawRecord(r.topic, r.partition, r.offset, r.value or b"") for r in batch]


def window_reader(scores: ScoreQueries, org: OrgChart, levels: frozenset[str]) -> WindowReader:
    """R30D values of the exported entities scoring keeps windows for, from its read model."""
    entities = [e for level in Level if level.value in levels for e in org.entities(level)]

    async def read() -> list[Score]:
        found = await scores.window_scores(entities, ROLLING_WINDOW)
        return [score for entity in entities for score in found.get(entity, [])]

    return read


def create_app(
    settings: Settings,
    *,
    broker: KafkaBroker | None = None,
    mongo_client: AsyncMongoClient[mongo.Document] | None = None,
    registry: CollectorRegistry | None = None,
    store: AlertStore | None = None,
    output: OutputPort | None = None,
    scores: ScoreQueries | None = None,
    progress: ProgressWriter | None = None,
    published: PublishedAlerts | None = None,
) -> ServiceApp:
    """Build the alerts service; a bad alerts.yaml stops it here, naming the file and rule.
    `scores` is scoring's read model (default: on its MongoDB state); `published` is what was
    sent on kpi.alerts.v1, read back at start (default: from Kafka, unless `output` is given)."""
    client = mongo_client or mongo.create_client(settings, app_name=f"kpi-{NAME}")
    config = load_kpi_config(settings.config_dir)  # calendar, KPIs, org and targets, checked
    scores = scores or mongo_score_queries(client, settings.mongodb_database, config)
    rules = load_rules(
        settings.config_dir / "alerts.yaml", kpi_ids={k.id for k in config.catalogue}
    )

    registry = registry or create_registry()
    metrics = AlertsMetrics(registry)
    levels = settings.metric_level_set()
    broker = broker or create_broker(
        settings, client_id=f"kpi-{NAME}", middlewares=[faststream_middleware(registry, NAME)]
    )
    alert_store = store or MongoAlertStore(client, settings.mongodb_database)
    kafka_output = KafkaOutput(settings, client_id=f"kpi-{NAME}-out") if output is None else None
    service = AlertsService(
        engine=AlertEngine(
            rules, config.calendar, started_at=datetime.now(UTC), definitions=config.definitions
        ),
        store=alert_store,
        output=output or kafka_output,  # type: ignore[arg-type]
        metrics=metrics,
        kpi_gauges=KpiGauges(registry, levels),
        alert_gauges=AlertGauges(registry, levels, config.org.branch_of),
        window_reader=window_reader(scores, config.org, levels),
        published=published or (KafkaPublishedAlerts(settings) if output is None else None),
    )

    subscriber = broker.subscriber(
        topics.SCORES,
        topics.EVENTS,
        group_id=GROUP_ID,
        batch=True,
        max_records=MAX_BATCH,
        batch_timeout_ms=200,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.ACK,  # failures are retried inside the batch (service.py)
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=max(1_000, settings.kafka_session_timeout_ms // 5),
        parser=headerless_batch,
        decoder=raw_body,
    )

    @subscriber
    async def on_records(message: KafkaMessage, consumer: Consumer) -> None:
        started = time.perf_counter()
        records = raw_records(message.raw_message)
        scores = [r for r in records if r.topic == topics.SCORES]
        events = [r for r in records if r.topic == topics.EVENTS]
        if scores:
            await service.handle_scores(scores)
        if events:
            await service.handle_events(events)
        timings.observe(time.perf_counter() - started, len(records), datetime.now(UTC))
        metrics.consumer_lag.observe(consumer, {(r.topic, r.partition): r.offset for r in records})

    ticker = Periodic("alerts-tick", service.tick, settings.alerts_tick_s)
    # The pipeline page's batch latency and event time (shared/progress_board.py).
    timings = BatchTimings(NAME)
    board = progress or MongoProgressBoard(client, settings.mongodb_database)
    engine = service.engine
    publisher = Periodic(
        "progress",
        ProgressPublisher(timings, board, lambda _: engine.stream_time).publish,
        PUBLISH_EVERY_S,
    )

    async def start_dependencies() -> None:
        await alert_store.ensure_schema()
        if kafka_output is not None:
            await kafka_output.start()
        await service.start()
        ticker.start()
        publisher.start()

    async def stop_dependencies() -> None:
        await publisher.stop()
        await ticker.stop()
        if kafka_output is not None:
            await kafka_output.stop()

    app = build_service(
        NAME,
        settings,
        broker=broker,
        mongo_client=client,
        registry=registry,
        on_startup=[start_dependencies],
        on_shutdown=[stop_dependencies],
    )
    app.extra["service"] = service
    return app
