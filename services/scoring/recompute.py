"""`kpi recompute`: a new state generation from `kpi.events.v1`, switched to once caught up.

The new generation is built by scoring's own `ScoringService` (the same batches, the same
transactions, the same positions and watermarks), on the definitions in `KPI_CONFIG_DIR` as
they are now, in collections of its own (generations.py), with positions of its own. It reads
every partition of `kpi.events.v1` from the start, outside the scoring consumer group (the
live service keeps its partitions and keeps applying new events to the active generation).
Nothing is published meanwhile: dead letters were the live generation's to send, and score
updates of the new generation go out only once it is the answer.

When a fetch finds nothing new and the new generation's positions stand at the topic's end,
the control document is switched in one update; the live scoring service follows at its next
batch (following.py). A kill at any moment leaves the active generation untouched: each batch
of the new generation commits with its positions, and the next `kpi recompute` resumes from
them.
"""

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient

from shared import mongo, topics
from shared.consumer_state import backlog_of, records_left
from shared.idle import end_offsets
from shared.kafka import aiokafka_options
from shared.kafka_output import Outbound
from shared.kpi.config import KpiConfig
from shared.settings import Settings

from .consumer import after_batch, decode_records, seek
from .domain.batch import BatchOutcome
from .generation_store import MongoGenerations
from .generations import GenerationError, start_build, switch
from .metrics import ScoringMetrics
from .ports import StateStore
from .publication import Changed
from .recompute_progress import Progress, Reading
from .service import ScoringService

logger = logging.getLogger(__name__)
REPORT_EVERY_S = 2.0
FETCH_MS = 500


class _Discard:
    """The new generation publishes nothing while it is built; counts what it would have."""

    def __init__(self) -> None:
        self.dropped = 0

    async def send_all(self, messages: Sequence[Outbound]) -> None:
        self.dropped += len(messages)


class _Silent:
    """A scorer with nothing to say: no score update is computed while building."""

    def changed(self, outcome: BatchOutcome) -> Changed:
        return {}

    def changed_buckets(self, touched: object) -> Changed:
        return {}

    def split_live(self, changed: object) -> tuple[Changed, Changed]:
        return {}, {}

    async def messages(
        self, changed: object, stream_time: datetime | None, *, later: bool = True
    ) -> list[Outbound]:
        return []


@dataclass(frozen=True)
class RecomputeResult:
    """What a run did: the generation, whether it resumed one, the events it applied, how
    long it took, the events the generation holds and the generation it replaced."""

    generation: str
    resumed: bool
    applied: int
    seconds: float
    total: int
    replaced: str


def building_service(
    store: StateStore, config: KpiConfig, *, max_batch: int, idle_after: timedelta
) -> ScoringService:
    """Scoring's own service on the new generation's store, publishing nothing."""
    return ScoringService(
        store=store,
        output=_Discard(),
        calendar=config.calendar,
        scorer=_Silent(),
        metrics=ScoringMetrics(CollectorRegistry()),
        group=topics.SCORING_GROUP,
        idle_after=idle_after,
        max_batch=max_batch,
        flush_interval=timedelta(days=1),  # nothing to publish: no need to flush while behind
        survey_boxes=config.catalogue.survey_boxes,
    )


class Recompute:
    """One run of `kpi recompute`: begin or resume the build, catch up, switch."""

    def __init__(
        self,
        settings: Settings,
        client: AsyncMongoClient[mongo.Document],
        config: KpiConfig,
        *,
        out: Callable[[str], None] = print,
        report_every_s: float = REPORT_EVERY_S,
    ) -> None:
        self._settings = settings
        self._generations = MongoGenerations(client, settings.mongodb_database)
        self._config = config
        self._max_batch = settings.scoring_max_batch
        self._out = out
        self._report_every_s = report_every_s

    async def run(self, label: str | None, republish_from: str | None = None) -> RecomputeResult:
        """Build (or resume) and switch; `republish_from` is `--from` (None: every period,
        or, resuming, the period the build was begun with)."""
        started = time.monotonic()
        before = await self._generations.read()
        state, generation, resumed = start_build(
            before,
            now=datetime.now(UTC),
            definitions_hash=self._config.definitions.hash,
            label=label or self._config.definitions.label,
            republish_from=republish_from,
        )
        if not resumed:
            await self._generations.replace(before, state)
        info = state.info(generation)
        since = info.republish_from
        self._out(
            f"{'resuming' if resumed else 'building'} generation {generation} beside "
            f"{state.active} with definitions {self._config.definitions.hash}"
            + (f" ({info.label})" if info.label else "")
            + (
                f"; the switch republishes the periods from {since} on"
                f" (ending on or after {self._config.calendar.period_bounds(since)[0]:%Y-%m-%d})"
                if since is not None
                else ""
            )
        )
        store = self._generations.store(generation)
        await store.ensure_schema()
        service = building_service(
            store,
            self._config,
            max_batch=self._max_batch,
            idle_after=timedelta(seconds=self._settings.idle_timeout_s),
        )
        applied, total = await self._catch_up(service, store, generation)
        replaced = await self._switch_to(generation)
        seconds = time.monotonic() - started
        return RecomputeResult(generation, resumed, applied, seconds, total, replaced)

    async def _catch_up(
        self, service: ScoringService, store: StateStore, generation: str
    ) -> tuple[int, int]:
        """Apply `kpi.events.v1` from the generation's positions to the end; the events
        applied by this run and the events the generation holds."""
        consumer = AIOKafkaConsumer(
            **aiokafka_options(self._settings),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=16 * 1024 * 1024,
            fetch_max_bytes=64 * 1024 * 1024,
        )
        await consumer.start()
        try:
            tps = [
                TopicPartition(topics.EVENTS, p)
                for p in sorted(consumer.partitions_for_topic(topics.EVENTS) or ())
            ]
            keys = {(tp.topic, tp.partition) for tp in tps}
            consumer.assign(tps)
            await seek(consumer, await service.assign(keys))
            starts = await consumer.beginning_offsets(tps)
            progress = Progress(generation)
            applied = 0
            reported = 0.0
            while True:
                batches = await consumer.getmany(timeout_ms=FETCH_MS, max_records=self._max_batch)
                records = decode_records(tuple(r for tp in tps for r in batches.get(tp, [])))
                ends = await consumer.end_offsets(tps)  # short on Tansu: for the ETA only
                if records:
                    # The fetch's high watermarks, right on Tansu too (shared/consumer_state).
                    result = await service.handle(
                        records, await backlog_of(consumer), left=await records_left(consumer)
                    )
                    await after_batch(consumer, result)
                    applied += result.applied
                done = sum([await consumer.position(tp) - starts[tp] for tp in tps])
                total = max(done, sum(ends[tp] - starts[tp] for tp in tps))
                now = time.monotonic()
                progress.add(Reading(now, done, total))
                if now - reported >= self._report_every_s:
                    self._out(progress.line())
                    reported = now
                if not records and await self._caught_up(store, starts):
                    # Marks every commit published (there is nothing to publish while
                    # building), so that live scoring, once it follows, does not take the
                    # last batches for updates a crash left unpublished.
                    await service.publish()
                    progress.add(Reading(time.monotonic(), done, done))
                    self._out(progress.line())
                    return applied, done
        finally:
            await consumer.stop()

    async def _caught_up(self, store: StateStore, starts: dict[TopicPartition, int]) -> bool:
        """Whether the generation's stored positions stand at the end of every partition (the
        end read with the probe that corrects Tansu's answer for it)."""
        ends = await end_offsets(self._settings, [topics.EVENTS])
        stored = await store.positions(
            topics.SCORING_GROUP, {(tp.topic, tp.partition) for tp in ends}
        )
        return all(
            (
                stored[key].next_offset
                if (key := (tp.topic, tp.partition)) in stored
                else starts.get(tp, 0)
            )
            >= end
            for tp, end in ends.items()
        )

    async def _switch_to(self, generation: str) -> str:
        """The one update that makes the generation active; returns the one it replaced."""
        state = await self._generations.read()
        if state.building != generation:
            raise GenerationError(f"generation {generation} is no longer the one being built")
        await self._generations.replace(state, switch(state, now=datetime.now(UTC)))
        self._out(
            f"switched: generation {generation} is active; {state.active} is kept for "
            "`kpi recompute --rollback` until `kpi recompute --drop-previous`"
        )
        return state.active
