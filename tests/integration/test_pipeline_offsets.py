"""Reporting's port to the broker's offsets (`KafkaOffsets`) on the real local broker: a topic
of two partitions with 7 and 3 records, a group that committed 4 on the first and nothing on the
second, so its lag is exactly 3 + 3. And the progress board on the real local database keeps
what each service publishes."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from pymongo import AsyncMongoClient

from services.reporting.offsets import KafkaOffsets, OffsetsUnavailable
from services.reporting.pipeline_figures import Bounds
from shared.kafka import aiokafka_options
from shared.progress import BatchTimings
from shared.progress_board import MongoProgressBoard
from shared.settings import Settings
from tests.support.topics_io import create_topic

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(loop_scope="session")
async def topic(settings: Settings, unique: str) -> AsyncIterator[str]:
    """A topic of the test's own: partition 0 holds 7 records, partition 1 holds 3."""
    name = await create_topic(settings, f"offsets-{unique}"[:100], partitions=2)
    producer = AIOKafkaProducer(**aiokafka_options(settings), acks="all")
    await producer.start()
    try:
        for partition, count in ((0, 7), (1, 3)):
            for n in range(count):
                await producer.send_and_wait(name, f"r{n}".encode(), partition=partition)
    finally:
        await producer.stop()
    yield name


async def _commit(settings: Settings, group: str, offsets: dict[TopicPartition, int]) -> None:
    consumer = AIOKafkaConsumer(
        **aiokafka_options(settings), group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit({tp: OffsetAndMetadata(o, "") for tp, o in offsets.items()})
    finally:
        await consumer.stop()


async def test_the_lag_of_a_group_is_the_end_less_what_it_committed(
    settings: Settings, topic: str, unique: str
) -> None:
    group = f"g-{unique}"
    await _commit(settings, group, {TopicPartition(topic, 0): 4})
    offsets = KafkaOffsets(settings)

    bounds = await offsets.bounds([topic])
    committed = await offsets.committed(group, list(bounds))

    assert bounds == {(topic, 0): Bounds(0, 7), (topic, 1): Bounds(0, 3)}
    assert committed == {(topic, 0): 4}
    lag = sum(b.end - committed.get(p, b.start) for p, b in bounds.items())
    assert lag == 6
    assert await offsets.committed(f"never-{unique}", list(bounds)) == {}


async def test_a_broker_that_does_not_answer_is_offsets_unavailable(settings: Settings) -> None:
    nowhere = settings.model_copy(update={"kafka_bootstrap_servers": "127.0.0.1:1"})

    with pytest.raises(OffsetsUnavailable):
        await KafkaOffsets(nowhere).committed("kpi-ingest", [("insurance.policy.v1", 0)])


async def test_the_progress_board_keeps_each_services_latest(
    mongo_client: AsyncMongoClient[dict[str, Any]], unique: str
) -> None:
    name = f"p_{unique}"[:63]
    board = MongoProgressBoard(mongo_client, name)
    at = datetime(2026, 1, 5, 9, tzinfo=UTC)
    try:
        for service, seconds in (("scoring", 0.4), ("ingest", 0.1), ("scoring", 0.6)):
            timings = BatchTimings(service)
            timings.observe(seconds, 10, at)
            await board.put(timings.progress(at, watermark=at))

        found = await board.progress()
    finally:
        await mongo_client.drop_database(name)

    assert [(p.service, p.p50_s, p.watermark) for p in found] == [
        ("ingest", 0.1, at),
        ("scoring", 0.6, at),
    ]
