"""Composition root of the alerts service: the one place its pieces are built and wired."""

from datetime import UTC, datetime

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import Consumer, KafkaMessage
from faststream.middlewares import AckPolicy
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient

from services.scoring.app import build_scorer
from services.scoring.mongo_store import MongoStateStore
from services.scoring.queries import current_scores
from services.scoring.scores import ScoreBuilder
from shared import mongo, topics
from shared.config.org import Level
from shared.kafka import RawBatch, create_broker, headerless_batch, raw_body
from shared.kafka_output import KafkaOutput, OutputPort
from shared.messages.score import Score
from shared.metrics import create_registry, faststream_middleware
from shared.service import ServiceApp, build_service
from shared.service.periodic import Periodic
from shared.settings import Settings

from .domain.engine import AlertEngine
from .domain.rules import load_rules
from .metrics import AlertGauges, AlertsMetrics, KpiGauges
from .service import AlertsService, RawRecord, WindowReader
from .store import AlertStore, MongoAlertStore

NAME = "alerts"
GROUP_ID = topics.ALERTS_GROUP
MAX_BATCH = 5_000
ROLLING_WINDOW = "R30D"
# Day buckets, which rolling windows are summed from, are kept from branch level up.
_WINDOW_LEVELS = frozenset({"company", "region", "branch"})


def raw_records(batch: RawBatch) -> list[RawRecord]:
    """The batch as the alerts service reads it: values only; keys and headers are not read."""
    return [RawRecord(r.topic, r.partition, r.offset, r.value or b"") for r in batch]


def window_reader(
    state: MongoStateStore, scorer: ScoreBuilder, levels: frozenset[str]
) -> WindowReader:
    """R30D values of the exported entities, read from scoring's state (a read-only view)."""
    kept = levels & _WINDOW_LEVELS
    entities = [e for level in Level if level.value in kept for e in scorer.org.entities(level)]

    async def read() -> list[Score]:
        scores: list[Score] = []
        for entity in entities:
            scores += await current_scores(state, scorer, entity=entity, period=ROLLING_WINDOW)
        return scores

    return read


def create_app(
    settings: Settings,
    *,
    broker: KafkaBroker | None = None,
    mongo_client: AsyncMongoClient[mongo.Document] | None = None,
    registry: CollectorRegistry | None = None,
    store: AlertStore | None = None,
    output: OutputPort | None = None,
) -> ServiceApp:
    """Build the alerts service; a bad alerts.yaml stops it here, naming the file and rule."""
    client = mongo_client or mongo.create_client(settings, app_name=f"kpi-{NAME}")
    state = MongoStateStore(client, settings.mongodb_database)
    scorer = build_scorer(settings, state)  # reads and checks calendar, KPIs, org and targets
    rules = load_rules(
        settings.config_dir / "alerts.yaml", kpi_ids={k.id for k in scorer.catalogue}
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
        engine=AlertEngine(rules, scorer.calendar, started_at=datetime.now(UTC)),
        store=alert_store,
        output=output or kafka_output,  # type: ignore[arg-type]
        metrics=metrics,
        kpi_gauges=KpiGauges(registry, levels),
        alert_gauges=AlertGauges(registry, levels, scorer.org.branch_of),
        window_reader=window_reader(state, scorer, levels) if store is None else None,
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
        records = raw_records(message.raw_message)
        scores = [r for r in records if r.topic == topics.SCORES]
        events = [r for r in records if r.topic == topics.EVENTS]
        if scores:
            await service.handle_scores(scores)
        if events:
            await service.handle_events(events)
        metrics.consumer_lag.observe(consumer, {(r.topic, r.partition): r.offset for r in records})

    ticker = Periodic("alerts-tick", service.tick, settings.alerts_tick_s)

    async def start_dependencies() -> None:
        await alert_store.ensure_schema()
        if kafka_output is not None:
            await kafka_output.start()
        await service.start()
        ticker.start()

    async def stop_dependencies() -> None:
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
