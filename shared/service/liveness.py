"""Liveness of a service's consumers: a stalled consumer turns `/readyz` to 503.

Every few seconds the monitor looks at the partitions assigned to the service's consumers,
learns each partition's true end, and asks the `ProgressWatch` (shared/stall_watch.py) whether
records have waited without progress for `KPI_STALL_TIMEOUT_S`. Progress is reported by a
FastStream middleware when a handler finishes a batch without raising. The same look sets
`kpi_consumer_lag_records` for every assigned partition, so the lag of a consumer that receives
nothing is still right (a handler that never runs never sets it).

The true end of a partition: Tansu 0.6 answers ListOffsets(latest) with the offset after the
*first* record of the partition's last record batch, short of the end by the rest of that
batch (measured: three batches of 10, 20 and 5 records, ListOffsets 31, true end 35); its
Fetch responses carry the right high watermark (35). So the probe asks ListOffsets, then
fetches once from that offset on a consumer of its own and takes the larger of the answer and
the high watermark. On Apache Kafka both are the same and the fetch returns nothing.
"""

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from faststream.middlewares import BaseMiddleware
from prometheus_client import CollectorRegistry, Gauge

from shared.idle import true_ends
from shared.kafka import aiokafka_options
from shared.metrics import ConsumerLag
from shared.settings import Settings
from shared.stall_watch import PartitionKey, ProgressWatch, Verdict

from .periodic import Periodic

logger = logging.getLogger(__name__)
Clock = Callable[[], float]
CHECK_EVERY_S = 5.0
_PROBE_TIMEOUT_S = 4.0
_POSITION_TIMEOUT_S = 0.5


def _offsets(batch: Any) -> tuple[dict[PartitionKey, int], dict[PartitionKey, int]]:
    """First and last offset of each partition in a raw batch (a tuple of records, or one)."""
    records = batch if isinstance(batch, tuple | list) else (batch,)
    first: dict[PartitionKey, int] = {}
    last: dict[PartitionKey, int] = {}
    for record in records:
        key = (record.topic, record.partition)
        first.setdefault(key, record.offset)
        last[key] = record.offset
    return first, last


class ProgressMiddleware(BaseMiddleware):
    """Reports each batch to the watch: taken on receipt, progress once handled without error."""

    # `context` is FastStream's ContextRepo, which it exports only from a private module.
    def __init__(self, msg: Any, /, *, context: Any, watch: ProgressWatch, clock: Clock) -> None:
        super().__init__(msg, context=context)
        self._watch = watch
        self._clock = clock
        self._first, self._last = _offsets(msg)

    async def on_receive(self) -> None:
        self._watch.started(self._first, self._clock())

    async def after_processed(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> bool | None:
        if exc_type is None:
            self._watch.processed(self._last, self._clock())
        return False


def progress_middleware(watch: ProgressWatch, clock: Clock) -> Callable[..., ProgressMiddleware]:
    """The broker middleware (a factory FastStream calls with each message)."""

    def build(msg: Any, /, *, context: Any) -> ProgressMiddleware:
        return ProgressMiddleware(msg, context=context, watch=watch, clock=clock)

    return build


class EndProbe:
    """True partition ends, on a consumer of its own (no group, nothing committed)."""

    def __init__(self, settings: Settings, client_id: str) -> None:
        self._settings = settings
        self._client_id = client_id
        self._consumer: AIOKafkaConsumer | None = None

    async def ends(self, keys: Iterable[PartitionKey]) -> dict[PartitionKey, int]:
        """The end of each partition (offset after its last record); raises on a broker
        failure or after `_PROBE_TIMEOUT_S`."""
        partitions = [TopicPartition(topic, partition) for topic, partition in sorted(keys)]
        if not partitions:
            return {}
        async with asyncio.timeout(_PROBE_TIMEOUT_S):
            consumer = await self._started()
            ends = await true_ends(consumer, partitions, timeout_s=_PROBE_TIMEOUT_S)
        return {(tp.topic, tp.partition): end for tp, end in ends.items()}

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                **aiokafka_options(self._settings),
                client_id=self._client_id,
                group_id=None,
                enable_auto_commit=False,
                fetch_max_wait_ms=100,
                max_partition_fetch_bytes=64 * 1024,
                request_timeout_ms=int(_PROBE_TIMEOUT_S * 1000),
            )
            await consumer.start()
            self._consumer = consumer
        return self._consumer

    async def stop(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()


class LivenessMetrics:
    """`kpi_consumer_stalled` and `kpi_consumer_no_progress_seconds` per service."""

    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        self.stalled = Gauge(
            "kpi_consumer_stalled",
            "1 when records have waited on an assigned partition with no progress for "
            "KPI_STALL_TIMEOUT_S (then /readyz answers 503), else 0.",
            ["service"],
            registry=registry,
        ).labels(service)
        self.no_progress = Gauge(
            "kpi_consumer_no_progress_seconds",
            "Seconds the worst assigned partition has had records waiting and none processed "
            "(0 when no record waits).",
            ["service"],
            registry=registry,
        ).labels(service)
        self.lag = ConsumerLag(registry, service)


class ConsumerLiveness:
    """Watches the consumers `consumers()` returns; `reason()` says why they are stalled."""

    def __init__(
        self,
        service: str,
        *,
        consumers: Callable[[], Iterable[Any]],
        ends: Callable[[Iterable[PartitionKey]], Any],
        metrics: LivenessMetrics,
        watch: ProgressWatch,
        clock: Clock,
        interval_s: float = CHECK_EVERY_S,
    ) -> None:
        self._service = service
        self._consumers = consumers
        self._ends = ends
        self._metrics = metrics
        self._watch = watch
        self._clock = clock
        self._verdict = Verdict((), watch.stall_after_s)
        self._exported: set[PartitionKey] = set()
        self._timer = Periodic(f"{service} liveness", self.check, interval_s)

    @property
    def verdict(self) -> Verdict:
        """What the last check concluded."""
        return self._verdict

    def reason(self) -> str | None:
        """Why the consumers are not live (for `/readyz`), None when they are."""
        return self._verdict.reason()

    async def check(self) -> Verdict:
        """Look at every assigned partition once; export the lag and the stall."""
        clients: dict[PartitionKey, int | None] = {}
        for consumer in self._consumers():
            for tp in consumer.assignment():
                key = (tp.topic, tp.partition)
                known = self._watch.position_of(key)
                clients[key] = await _client_position(consumer, tp) if known is None else None
        ends: Mapping[PartitionKey, int] = {}
        if clients:
            try:
                ends = await self._ends(clients)
            except (KafkaError, OSError, TimeoutError) as exc:
                # The broker is away: readiness says so already; the last ends learnt stand.
                logger.debug("%s: partition ends unknown this time: %s", self._service, exc)
        # Where processing stands is read again after the awaits: batches finished meanwhile,
        # and a position read before them would look like a seek back (and, at the end of
        # the input, like records waiting for ever).
        positions = {key: _now_or(self._watch.position_of(key), c) for key, c in clients.items()}
        verdict = self._watch.observe(positions, ends, self._clock())
        self._export(verdict)
        if verdict.stalled and not self._verdict.stalled:
            logger.warning("%s consumer stalled: %s", self._service, verdict.reason())
        elif self._verdict.stalled and not verdict.stalled:
            logger.info("%s consumer makes progress again", self._service)
        self._verdict = verdict
        return verdict

    def _export(self, verdict: Verdict) -> None:
        current: set[PartitionKey] = set()
        for p in verdict.partitions:
            if p.lag is not None:
                self._metrics.lag.set(p.topic, p.partition, p.lag)
                current.add((p.topic, p.partition))
        for topic, partition in self._exported - current:
            self._metrics.lag.remove(topic, partition)
        self._exported = current
        self._metrics.stalled.set(1 if verdict.stalled else 0)
        self._metrics.no_progress.set(round(verdict.longest_stall_s, 1))

    def start(self) -> None:
        self._timer.start()

    async def stop(self) -> None:
        await self._timer.stop()


def _now_or(known: int | None, client: int | None) -> int | None:
    return client if known is None else known


async def _client_position(consumer: Any, tp: TopicPartition) -> int | None:
    """The client's position, or None when it does not know it within a short wait (a
    partition just assigned whose committed offset is still being fetched)."""
    try:
        position: int = await asyncio.wait_for(consumer.position(tp), _POSITION_TIMEOUT_S)
    except (TimeoutError, KafkaError):
        return None
    return position
