"""The true end of a partition: the larger of the broker's ListOffsets answer (short on Tansu)
and a fetch's high watermark; never a short end when the broker is slow."""

import asyncio
from typing import Any, cast

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.idle import true_ends

A, B = (TopicPartition("kpi.events.v1", p) for p in range(2))


class FakeConsumer:
    """ListOffsets answers `listed`; a fetch reveals the high watermarks `fetched` (a
    partition absent from it never answers)."""

    def __init__(self, listed: dict[TopicPartition, int], fetched: dict[TopicPartition, int]):
        self._listed, self._fetched = listed, fetched
        self._high: dict[TopicPartition, int] = {}
        self.sought: dict[TopicPartition, int] = {}

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self._listed[tp] for tp in partitions}

    def assign(self, partitions: list[TopicPartition]) -> None:
        self._high = {}

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.sought[tp] = offset

    async def getmany(
        self, *partitions: TopicPartition, **_: Any
    ) -> dict[TopicPartition, list[object]]:
        await asyncio.sleep(0.01)
        self._high |= {tp: high for tp, high in self._fetched.items() if tp in partitions}
        return {}

    def highwater(self, tp: TopicPartition) -> int | None:
        return self._high.get(tp)


def _consumer(fake: FakeConsumer) -> AIOKafkaConsumer:
    return cast("AIOKafkaConsumer", fake)


async def test_the_fetch_high_watermark_corrects_a_short_answer() -> None:
    # Tansu: three producer batches of 10, 20 and 5 records answer 31, the fetch 35.
    fake = FakeConsumer({A: 31, B: 7}, {A: 35, B: 7})

    assert await true_ends(_consumer(fake), [A, B], timeout_s=1) == {A: 35, B: 7}
    assert fake.sought == {A: 31, B: 7}


async def test_a_partition_that_never_answers_fails_the_probe_not_the_pipeline() -> None:
    """A short end would tell reporting's close clock that scoring has applied everything."""
    fake = FakeConsumer({A: 31, B: 7}, {A: 35})

    with pytest.raises(TimeoutError):
        await true_ends(_consumer(fake), [A, B], timeout_s=0.2)
