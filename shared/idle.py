"""How far behind each service is, for `kpi wait-idle` (DESIGN §11).

A service is idle when it has consumed everything published to its inputs so far. Every service
commits its input positions only after its outputs are acknowledged (ingest, alerts, reporting
to Kafka; scoring to MongoDB in the same transaction as its state), so a backlog of zero also
means no batch is in flight. Services plug in by providing a `BacklogSource`.
"""

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition

from .errors import TransientError
from .kafka import aiokafka_options
from .settings import Settings


class BacklogSource(Protocol):
    """Records a service has yet to process on its inputs."""

    name: str

    async def backlog(self, ends: Mapping[TopicPartition, int]) -> int:
        """Records between the service's positions and the given end offsets."""
        ...

    def inputs(self) -> Sequence[str]:
        """The topics the service consumes."""
        ...


@dataclass
class KafkaGroupBacklog:
    """Backlog of a consumer group that commits its offsets to Kafka."""

    name: str
    group_id: str
    topics: tuple[str, ...]
    settings: Settings

    def inputs(self) -> Sequence[str]:
        return self.topics

    async def backlog(self, ends: Mapping[TopicPartition, int]) -> int:
        consumer = AIOKafkaConsumer(
            **aiokafka_options(self.settings), group_id=self.group_id, enable_auto_commit=False
        )
        await consumer.start()
        try:
            mine = [tp for tp in ends if tp.topic in self.topics]
            starts = await consumer.beginning_offsets(mine) if mine else {}
            total = 0
            for tp in mine:
                committed = await consumer.committed(tp)
                position = committed if committed is not None else starts[tp]
                total += max(0, ends[tp] - position)
            return total
        finally:
            await consumer.stop()


_END_PROBE_S = 15.0


class UnknownTopic(TransientError):
    """The broker's metadata names no partition of a topic asked about (not created yet)."""


async def true_ends(
    consumer: AIOKafkaConsumer, partitions: Sequence[TopicPartition], *, timeout_s: float
) -> dict[TopicPartition, int]:
    """The end (offset after the last record) of each partition, on a consumer of its own that
    is assigned them here (no group, nothing committed).

    Tansu 0.6 answers ListOffsets(latest) with the offset after the *first* record of the
    partition's last record batch, so taken as is it would call a partition done with its last
    batch unread; the high watermark of a Fetch response is right (docs/resilience.md). So this
    asks ListOffsets, seeks there, fetches until every partition's high watermark is known and
    takes the larger. On Apache Kafka both agree and the fetch finds nothing.

    Fails closed: after `timeout_s` without every answer it raises `TimeoutError`, never a
    short end (a caller deciding that a pipeline is idle must not be told so by a slow
    broker)."""
    async with asyncio.timeout(timeout_s):
        listed: dict[TopicPartition, int] = dict(await consumer.end_offsets(partitions))
        consumer.assign(list(partitions))  # fresh partition states: no high watermark yet
        for tp in partitions:
            consumer.seek(tp, listed[tp])
        while any(consumer.highwater(tp) is None for tp in partitions):
            await consumer.getmany(*partitions, timeout_ms=200, max_records=1)
        return {tp: max(listed[tp], consumer.highwater(tp) or 0) for tp in partitions}


async def end_offsets(settings: Settings, topic_names: Sequence[str]) -> dict[TopicPartition, int]:
    """The current end offset (last offset + 1) of every partition of the topics (`true_ends`).

    Raises `UnknownTopic` when the broker's metadata names no partition of one of them, and
    `TimeoutError` when the broker does not answer within 15 s: an empty or short answer would
    tell every caller (`kpi wait-idle`, reporting's close clock) that nothing is left."""
    consumer = AIOKafkaConsumer(
        **aiokafka_options(settings),
        enable_auto_commit=False,
        fetch_max_wait_ms=100,
        max_partition_fetch_bytes=64 * 1024,
    )
    await consumer.start()
    try:
        partitions: list[TopicPartition] = []
        for topic in topic_names:
            known = consumer.partitions_for_topic(topic)
            if not known:
                raise UnknownTopic(f"the broker names no partition of topic {topic}")
            partitions += [TopicPartition(topic, p) for p in sorted(known)]
        if not partitions:
            return {}
        return await true_ends(consumer, partitions, timeout_s=_END_PROBE_S)
    finally:
        await consumer.stop()


async def backlogs_now(settings: Settings, sources: Sequence[BacklogSource]) -> dict[str, int]:
    """Each source's backlog (records it has not consumed), by name, against the ends now."""
    ends = await end_offsets(settings, sorted({t for source in sources for t in source.inputs()}))
    values = await asyncio.gather(*(source.backlog(ends) for source in sources))
    return {source.name: value for source, value in zip(sources, values, strict=True)}


async def wait_idle(
    settings: Settings,
    sources: Sequence[BacklogSource],
    *,
    timeout_s: float,
    interval_s: float = 0.5,
) -> dict[str, int]:
    """Poll until every source's backlog is zero twice in a row; return the last backlogs.

    Twice, because a service that just finished may already have published into the input of
    the next one.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    quiet_polls = 0
    backlogs: dict[str, int] = {}
    while True:
        backlogs = await backlogs_now(settings, sources)
        quiet_polls = quiet_polls + 1 if not any(backlogs.values()) else 0
        if quiet_polls >= 2 or loop.time() >= deadline:
            return backlogs
        await asyncio.sleep(interval_s)
