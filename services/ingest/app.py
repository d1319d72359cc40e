"""Composition root of the ingest service: the one place its pieces are built and wired."""

import gc
import time
from datetime import UTC, datetime, timedelta

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import Consumer, KafkaMessage
from faststream.middlewares import AckPolicy
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient

from shared import mongo, topics
from shared.config.loading import load_calendar
from shared.consumer_state import backlog_of
from shared.events import MAX_MESSAGE_BYTES
from shared.kafka import RawBatch, create_broker, headerless_batch, raw_body
from shared.kafka_output import KafkaOutput, OutputPort
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

from .claims import ClaimStore, MongoClaimStore
from .future import FutureGate
from .metrics import IngestMetrics
from .normalise import load_codebook
from .org_directory import OrgDirectory
from .org_feed import OrgFeed
from .phones import hasher_from_settings
from .pipeline import Clock, IngestPipeline
from .triage import Record, Triage

NAME = "ingest"
GROUP_ID = topics.INGEST_GROUP
FUTURE_TOLERANCE = timedelta(days=1)
MAX_BATCH = 10_000  # measured: fewer, larger claims and sends; see docs/ingest.md "Throughput"


def _utc_now() -> datetime:
    return datetime.now(UTC)


# A batch keeps 10,000 records and their outcomes alive at once: with the default threshold
# (700 allocations) the cyclic collector ran every few dozen records and walked them all again,
# a third of ingest's CPU (docs/ingest.md, Throughput). What ingest allocates per record is freed
# by reference counting; the collector still runs, every 50,000 allocations.
GC_THRESHOLD = (50_000, 20, 20)


def _tune_garbage_collector() -> None:
    """Leave what start-up built (modules, configuration, the claim index) out of every
    collection from now on, and collect less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def upstream_records(batch: RawBatch) -> list[Record]:
    """The batch as triage reads it: only the value matters; a missing value (a tombstone)
    reads as empty, which triage dead-letters. Keys and headers are not read at all."""
    return [Record(r.topic, r.partition, r.offset, r.value or b"", r.timestamp) for r in batch]


def create_app(
    settings: Settings,
    *,
    broker: KafkaBroker | None = None,
    mongo_client: AsyncMongoClient[mongo.Document] | None = None,
    registry: CollectorRegistry | None = None,
    output: OutputPort | None = None,
    claims: ClaimStore | None = None,
    clock: Clock = _utc_now,
    progress: ProgressWriter | None = None,
) -> ServiceApp:
    """Build the ingest service from settings; tests may hand in their own pieces.

    Configuration is read and validated here, so a bad file or a missing phone-hash key stops
    the service at start with a message naming the file or variable.
    """
    config_dir = settings.config_dir
    calendar = load_calendar(config_dir / "calendar.yaml")
    codebook = load_codebook(config_dir / "codes.yaml")
    directory = OrgDirectory.from_file(config_dir / "org.yaml")
    hasher = hasher_from_settings(settings.phone_hash_key, settings.local_stack)

    registry = registry or create_registry()
    metrics = IngestMetrics(registry)
    broker = broker or create_broker(
        settings, client_id=f"kpi-{NAME}", middlewares=[faststream_middleware(registry, NAME)]
    )
    client = mongo_client or mongo.create_client(settings, app_name=f"kpi-{NAME}")
    mongo_store = MongoClaimStore.on(
        client, settings.mongodb_database, timedelta(days=settings.dedup_horizon_days)
    )
    kafka_output = KafkaOutput(settings, client_id=f"kpi-{NAME}-out") if output is None else None
    outputs: OutputPort = output or kafka_output  # type: ignore[assignment]
    feed = OrgFeed(settings, directory, metrics, outputs)

    triage = Triage(
        codebook=codebook,
        org=directory,
        hasher=hasher,
        calendar=calendar,
        gate=FutureGate(FUTURE_TOLERANCE),
        max_bytes=MAX_MESSAGE_BYTES,
    )
    pipeline = IngestPipeline(
        triage=triage,
        claims=claims or mongo_store,
        output=outputs,
        metrics=metrics,
        clock=clock,
        idle_after=timedelta(seconds=settings.idle_timeout_s),
    )

    # The pipeline page's batch latency and event time (shared/progress_board.py).
    timings = BatchTimings(NAME)
    board = progress or MongoProgressBoard(client, settings.mongodb_database)
    watermark = pipeline.watermarks
    publisher = Periodic(
        "progress",
        ProgressPublisher(timings, board, watermark.peek_low, clock).publish,
        PUBLISH_EVERY_S,
    )

    @broker.subscriber(
        *topics.UPSTREAM,
        group_id=GROUP_ID,
        batch=True,
        max_records=MAX_BATCH,
        batch_timeout_ms=100,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=max(1_000, settings.kafka_session_timeout_ms // 5),
        max_partition_fetch_bytes=4 * 1024 * 1024,
        parser=headerless_batch,
        decoder=raw_body,
    )
    async def on_upstream(message: KafkaMessage, consumer: Consumer) -> None:
        started = time.perf_counter()
        records = upstream_records(message.raw_message)
        await pipeline.handle(records, await backlog_of(consumer))
        timings.observe(time.perf_counter() - started, len(records), clock())
        metrics.consumer_lag.observe(consumer, {(r.topic, r.partition): r.offset for r in records})

    async def start_dependencies() -> None:
        if claims is None:
            await mongo_store.prepare(clock())
        if kafka_output is not None:
            await kafka_output.start()
        await feed.start()
        publisher.start()
        if kafka_output is not None:  # a service process of its own, not a test's app
            _tune_garbage_collector()

    async def stop_dependencies() -> None:
        await publisher.stop()
        await feed.stop()
        if kafka_output is not None:
            await kafka_output.stop()

    return build_service(
        NAME,
        settings,
        broker=broker,
        mongo_client=client,
        registry=registry,
        on_startup=[start_dependencies],
        on_shutdown=[stop_dependencies],
    )
