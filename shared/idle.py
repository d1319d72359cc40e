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


async def end_offsets(settings: Settings, topic_names: Sequence[str]) -> dict[TopicPartition, int]:
    """The current end offset (last offset + 1) of every partition of the topics.

    The broker's answer is checked by reading from it: Tansu 0.6 answers ListOffsets(latest)
    with the first offset of the partition's last record batch, not the offset after it, so
    taken as is it would call a partition idle with its last batch still unread. Records found
    at or after the answer move the end on; on Apache Kafka there are none, and it costs one
    short empty fetch.
    """
    consumer = AIOKafkaConsumer(**aiokafka_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in topic_names
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return {}
        ends = dict(await consumer.end_offsets(partitions))
        consumer.assign(partitions)
        for tp, end in ends.items():
            consumer.seek(tp, end)
        # Read until a fetch finds nothing more and every partition has answered a fetch (its
        # high watermark is known), so a slow first fetch is not taken for an empty one.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _END_PROBE_S
        while True:
            batches = await consumer.getmany(timeout_ms=300, max_records=100_000)
            for tp, records in batches.items():
                if records:
                    ends[tp] = max(ends[tp], records[-1].offset + 1)
            answered = all(consumer.highwater(tp) is not None for tp in partitions)
            if (not batches and answered) or loop.time() >= deadline:
                return ends
    finally:
        await consumer.stop()


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
    topic_names = sorted({topic for source in sources for topic in source.inputs()})
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    quiet_polls = 0
    backlogs: dict[str, int] = {}
    while True:
        ends = await end_offsets(settings, topic_names)
        values = await asyncio.gather(*(source.backlog(ends) for source in sources))
        backlogs = {source.name: value for source, value in zip(sources, values, strict=True)}
        quiet_polls = quiet_polls + 1 if not any(values) else 0
        if quiet_polls >= 2 or loop.time() >= deadline:
            return backlogs
        await asyncio.sleep(interval_s)
