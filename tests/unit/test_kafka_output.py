"""`KafkaOutput` appends messages to one record batch per partition: whatever the batch sizes,
every message goes out once, to the partition aiokafka's `send` would choose, in order."""

import asyncio
from typing import Any

from aiokafka.partitioner import murmur2
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.kafka_output import KafkaOutput, Outbound
from shared.settings import Settings

PARTITIONS = 6


class RecordingBatch:
    def __init__(self, room: int) -> None:
        self.room = room
        self.records: list[tuple[bytes | None, bytes]] = []

    def append(self, *, key: bytes | None, value: bytes, timestamp: int | None) -> object | None:
        if len(self.records) >= self.room or len(value) > 100:
            return None  # full, or a message too large for any batch
        self.records.append((key, value))
        return object()

    def close(self) -> None:
        return None


class RecordingProducer:
    """Keeps what was sent, by partition, in order."""

    def __init__(self, room: int, **options: object) -> None:
        self.room = room
        self.sent: dict[tuple[str, int], list[tuple[bytes | None, bytes]]] = {}

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(PARTITIONS))

    def create_batch(self) -> RecordingBatch:
        return RecordingBatch(self.room)

    async def send_batch(self, batch: RecordingBatch, topic: str, *, partition: int) -> Any:
        self.sent.setdefault((topic, partition), []).extend(batch.records)
        return _done()

    async def send(self, topic: str, value: bytes, key: bytes | None, partition: int) -> Any:
        self.sent.setdefault((topic, partition), []).append((key, value))
        return _done()


def _done() -> "asyncio.Future[None]":
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.set_result(None)
    return future


def _kafka_partition(key: bytes) -> int:
    """Kafka's default partitioner: murmur2 of the key, positive, modulo the partitions."""
    return int(murmur2(key) & 0x7FFFFFFF) % PARTITIONS


messages = st.lists(
    st.builds(
        Outbound,
        topic=st.sampled_from(["kpi.scores.v1", "kpi.events.v1"]),
        key=st.binary(min_size=1, max_size=8),
        value=st.binary(max_size=120),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(messages, st.integers(min_value=1, max_value=7))
def test_every_message_goes_once_to_its_keys_partition_in_order(
    outbound: list[Outbound], room: int
) -> None:
    producer = RecordingProducer(room)
    output = KafkaOutput(Settings(), "test", producer_factory=lambda **_: producer)

    async def run() -> None:
        await output.start()
        await output.send_all(outbound)
        await output.send_all(outbound)  # partitions remembered per key give the same answer

    asyncio.run(run())

    expected: dict[tuple[str, int], list[tuple[bytes | None, bytes]]] = {}
    for _ in range(2):
        for message in outbound:
            assert message.key is not None
            where = (message.topic, _kafka_partition(message.key))
            expected.setdefault(where, []).append((message.key, message.value))
    assert producer.sent == expected
