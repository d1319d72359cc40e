"""Reporting's port to the broker's offsets, for the pipeline page's consumer lag: where each
partition starts and ends, and what a consumer group has committed.

`BrokerOffsets` is the port; `KafkaOffsets` asks the broker through aiokafka consumers that join
no group (aiokafka's admin client cannot read Tansu 0.6's OffsetFetch answer, where the
consumer's `committed` can); `MemoryOffsets` is the fake of the unit tests. Nothing here commits
or joins a group.
"""

from collections.abc import Mapping, Sequence
from typing import Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from shared.errors import KpiError
from shared.idle import end_offsets
from shared.kafka import aiokafka_options
from shared.settings import Settings

from .pipeline_figures import Bounds, Partition

__all__ = ["BrokerOffsets", "KafkaOffsets", "MemoryOffsets", "OffsetsUnavailable"]


class OffsetsUnavailable(KpiError):
    """The broker did not answer; the pipeline page keeps the figures it had."""


class BrokerOffsets(Protocol):
    """The broker's offsets, read-only."""

    async def bounds(self, topic_names: Sequence[str]) -> dict[Partition, Bounds]:
        """Every partition of the topics: its first offset and its end (last offset + 1)."""
        ...

    async def committed(self, group: str, partitions: Sequence[Partition]) -> dict[Partition, int]:
        """The offsets a consumer group has committed (the next record it will read), for those
        of `partitions` it has committed on; empty for a group that never committed."""
        ...


class KafkaOffsets:
    """`BrokerOffsets` on the Kafka broker of `settings`; a client per call, closed after it."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def bounds(self, topic_names: Sequence[str]) -> dict[Partition, Bounds]:
        try:
            # The end, read past Tansu's short ListOffsets answer (shared/idle.py).
            ends = await end_offsets(self._settings, topic_names)
            consumer = AIOKafkaConsumer(
                **aiokafka_options(self._settings), enable_auto_commit=False
            )
            await consumer.start()
            try:
                starts = await consumer.beginning_offsets(list(ends)) if ends else {}
            finally:
                await consumer.stop()
        except (KafkaError, OSError) as exc:
            raise OffsetsUnavailable(f"cannot read the topics' offsets: {exc}") from exc
        return {
            (tp.topic, tp.partition): Bounds(start=starts[tp], end=end) for tp, end in ends.items()
        }

    async def committed(self, group: str, partitions: Sequence[Partition]) -> dict[Partition, int]:
        consumer = AIOKafkaConsumer(
            **aiokafka_options(self._settings), group_id=group, enable_auto_commit=False
        )
        found: dict[Partition, int] = {}
        try:
            await consumer.start()
            try:
                for topic, partition in partitions:
                    offset = await consumer.committed(TopicPartition(topic, partition))
                    if offset is not None:
                        found[topic, partition] = offset
            finally:
                await consumer.stop()
        except (KafkaError, OSError) as exc:
            raise OffsetsUnavailable(f"cannot read group {group}'s offsets: {exc}") from exc
        return found


class MemoryOffsets:
    """`BrokerOffsets` in memory: set the bounds and each group's commits."""

    def __init__(
        self,
        bounds: Mapping[Partition, Bounds] | None = None,
        committed: Mapping[str, Mapping[Partition, int]] | None = None,
    ) -> None:
        self._bounds = dict(bounds or {})
        self._committed = {group: dict(c) for group, c in (committed or {}).items()}
        self.fail: str | None = None  # a broker that does not answer, with this reason

    def set(
        self,
        bounds: Mapping[Partition, Bounds],
        committed: Mapping[str, Mapping[Partition, int]],
    ) -> None:
        self._bounds = dict(bounds)
        self._committed = {group: dict(c) for group, c in committed.items()}

    async def bounds(self, topic_names: Sequence[str]) -> dict[Partition, Bounds]:
        if self.fail:
            raise OffsetsUnavailable(self.fail)
        return {p: b for p, b in self._bounds.items() if p[0] in topic_names}

    async def committed(self, group: str, partitions: Sequence[Partition]) -> dict[Partition, int]:
        if self.fail:
            raise OffsetsUnavailable(self.fail)
        return {p: o for p, o in self._committed.get(group, {}).items() if p in partitions}
