"""Composition root of the scoring service: the one place its pieces are built and wired."""

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import Consumer, KafkaMessage
from faststream.middlewares import AckPolicy
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient

from shared import mongo, progress_board, topics
from shared.consumer_state import backlog_of, records_left
from shared.errors import KpiError
from shared.kafka import create_broker, headerless_batch, raw_body
from shared.kafka_output import KafkaOutput, OutputPort
from shared.kpi.config import load_kpi_config
from shared.metrics import create_registry, faststream_middleware
from shared.progress import BatchTimings
from shared.progress_board import MongoProgressBoard, ProgressPublisher, ProgressWriter
from shared.service import ServiceApp, build_service
from shared.service.periodic import Periodic
from shared.settings import Settings

from .consumer import StateRebalanceListener, after_batch, decode_records
from .definition_snapshots import MongoSnapshots
from .following import GenerationFollower, LiveScoring
from .generation_store import GenerationFence, MongoGenerations
from .metrics import ScoringMetrics
from .mongo_store import MongoStateStore
from .ports import StateStore
from .scores import ScoreBuilder
from .service import ScoringService

logger = logging.getLogger(__name__)
NAME = "scoring"
PUBLISH_EVERY_S = 5.0
SHUTDOWN_PUBLISH_S = 10.0
GROUP_ID = topics.SCORING_GROUP


def build_scorer(
    settings: Settings, store: StateStore, metrics: ScoringMetrics | None = None
) -> ScoreBuilder:
    """The score builder from the configuration files (errors name the file and field)."""
    config = load_kpi_config(settings.config_dir)
    return ScoreBuilder(
        catalogue=config.catalogue,
        calendar=config.calendar,
        org=config.org,
        targets=config.targets,
        store=store,
        on_failure=(lambda: None) if metrics is None else metrics.score_failures.inc,
        definitions=config.definitions,
    )


def _service_factory(
    settings: Settings, metrics: ScoringMetrics, output: OutputPort
) -> Callable[[StateStore], ScoringService]:
    def build(state: StateStore) -> ScoringService:
        """The service on a state store, with the definitions read from the files now."""
        scorer = build_scorer(settings, state, metrics)
        return ScoringService(
            store=state,
            output=output,
            calendar=scorer.calendar,
            scorer=scorer,
            metrics=metrics,
            group=GROUP_ID,
            idle_after=timedelta(seconds=settings.idle_timeout_s),
            max_batch=settings.scoring_max_batch,
            flush_interval=timedelta(seconds=settings.scoring_flush_s),
            complete_every=timedelta(seconds=settings.scoring_summary_s),
            survey_boxes=scorer.catalogue.survey_boxes,
        )

    return build


def _follower(
    settings: Settings,
    client: AsyncMongoClient[mongo.Document],
    live: LiveScoring,
    build: Callable[[StateStore], ScoringService],
    output: OutputPort,
) -> GenerationFollower:
    return GenerationFollower(
        live,
        MongoGenerations(
            client,
            settings.mongodb_database,
            store_options={"cache_bytes": settings.scoring_cache_mb * 2**20},
        ),
        build,
        lambda: load_kpi_config(settings.config_dir).definitions.hash,
        output,
        config_dir=settings.config_dir,
        snapshots=MongoSnapshots(client, settings.mongodb_database),
        scorer_for=lambda config_dir, state: build_scorer(
            settings.model_copy(update={"config_dir": config_dir}), state
        ),
    )


def _gauge_cache(metrics: ScoringMetrics, live: LiveScoring) -> None:
    """`kpi_scoring_state_cache_bytes` reads the cache of the generation scoring writes now."""

    def held_bytes() -> float:
        state = live.service.state_store
        cache = state.cache if isinstance(state, MongoStateStore | GenerationFence) else None
        return cache.held_bytes if cache is not None else 0.0

    metrics.state_cache_bytes.set_function(held_bytes)


def create_app(
    settings: Settings,
    *,
    broker: KafkaBroker | None = None,
    mongo_client: AsyncMongoClient[mongo.Document] | None = None,
    registry: CollectorRegistry | None = None,
    store: StateStore | None = None,
    output: OutputPort | None = None,
    progress: ProgressWriter | None = None,
) -> ServiceApp:
    """Build the scoring service; configuration errors stop it here, naming the file."""
    registry = registry or create_registry()
    metrics = ScoringMetrics(registry)
    broker = broker or create_broker(
        settings, client_id=f"kpi-{NAME}", middlewares=[faststream_middleware(registry, NAME)]
    )
    client = mongo_client or mongo.create_client(settings, app_name=f"kpi-{NAME}")
    kafka_output = KafkaOutput(settings, client_id=f"kpi-{NAME}-out") if output is None else None

    build = _service_factory(settings, metrics, output or kafka_output)  # type: ignore[arg-type]

    # A store handed in (tests) is used as it is; otherwise scoring writes the active state
    # generation and follows a switch to another (following.py).
    initial = store or MongoStateStore(
        client, settings.mongodb_database, cache_bytes=settings.scoring_cache_mb * 2**20
    )
    live = LiveScoring(build(initial))
    _gauge_cache(metrics, live)
    follower = (
        None
        if store is not None
        else _follower(settings, client, live, build, output or kafka_output)  # type: ignore[arg-type]
    )

    listener = StateRebalanceListener(lambda: live.service, lambda: subscriber.consumer)
    subscriber = broker.subscriber(
        topics.EVENTS,
        group_id=GROUP_ID,
        batch=True,
        max_records=settings.scoring_max_batch,
        batch_timeout_ms=100,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,  # positions live in MongoDB with the state
        listener=listener,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=max(1_000, settings.kafka_session_timeout_ms // 5),
        max_partition_fetch_bytes=16 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
        parser=headerless_batch,
        decoder=raw_body,
    )

    # One batch or one switch at a time: a switch seeks the consumer and replaces the service.
    turn = asyncio.Lock()

    @subscriber
    async def on_events(message: KafkaMessage, consumer: Consumer) -> None:
        started = time.perf_counter()
        records = decode_records(message.raw_message)
        async with turn:
            result = await live.service.handle(
                records, await backlog_of(consumer), left=await records_left(consumer)
            )
            await after_batch(consumer, result)
            if live.switched and follower is not None:
                await follower.follow(consumer)  # the batch was refused: it is read again there
        timings.observe(time.perf_counter() - started, len(records), datetime.now(UTC))
        metrics.consumer_lag.observe(consumer, {(r.topic, r.partition): r.offset for r in records})

    # The pipeline page's batch latency (shared/progress_board.py); scoring's event time is in
    # its own read model (`ScoreQueries.clock`).
    timings = BatchTimings(NAME)
    board = progress or MongoProgressBoard(client, settings.mongodb_database)
    progress_publisher = Periodic(
        "progress", ProgressPublisher(timings, board).publish, progress_board.PUBLISH_EVERY_S
    )

    # Updates recovered after a crash go out even when no batch comes.
    async def publish_recovered() -> None:
        if follower is None or not await follower.follow_quietly(turn, subscriber.consumer):
            await live.service.publish(caught_up=False)

    publisher = Periodic("score publication", publish_recovered, PUBLISH_EVERY_S)

    # On the active generation (and its schema), or on the store handed in.
    start_state = initial.ensure_schema if follower is None else follower.start

    async def start_dependencies() -> None:
        await start_state()
        if kafka_output is not None:
            await kafka_output.start()
        publisher.start()
        progress_publisher.start()

    async def stop_dependencies() -> None:
        await progress_publisher.stop()
        await publisher.stop()
        try:  # what is committed and not yet published goes out now, or from the next owner
            if not live.switched:
                await asyncio.wait_for(live.service.publish(), timeout=SHUTDOWN_PUBLISH_S)
        except (TimeoutError, KpiError) as exc:
            logger.warning(
                "%d score updates left to the next start: %s", live.service.pending_scores, exc
            )
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
    app.extra.update(service=live.service, live=live)
    return app
