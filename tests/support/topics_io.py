"""Publishing raw records and reading topics back, for integration and e2e tests."""

import asyncio
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared import topics
from shared.kafka import aiokafka_options
from shared.settings import Settings

Position = tuple[str, int, int]


def upstream_topic(raw: bytes) -> str:
    """The topic a raw upstream message belongs on (policy for what names no known type)."""
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        return topics.POLICY
    event_type = document.get("event_type") if isinstance(document, dict) else None
    if not isinstance(event_type, str):
        return topics.POLICY
    return topics.UPSTREAM_BY_EVENT_TYPE.get(event_type, topics.POLICY)


def record_key(raw: bytes) -> bytes | None:
    """The org key of a raw message when it has one."""
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict):
        return None
    key = document.get("agent_id") or document.get("branch_id")
    return str(key).encode() if key else None


async def publish_raw(settings: Settings, messages: Sequence[bytes]) -> list[Position]:
    """Publish each raw message to its upstream topic; return where each landed."""
    producer = AIOKafkaProducer(**aiokafka_options(settings), acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [
            await producer.send(upstream_topic(raw), raw, key=record_key(raw)) for raw in messages
        ]
        metadata = await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return [(m.topic, m.partition, m.offset) for m in metadata]


async def read_until(
    settings: Settings,
    topic_names: Sequence[str],
    done: Callable[[list[ConsumerRecord]], bool],
    timeout_s: float = 60.0,
    *,
    start: Mapping[TopicPartition, int] | None = None,
) -> list[ConsumerRecord]:
    """Read topics from the beginning (or, given `start`, those partitions from those
    offsets) until `done(records)` or the timeout."""
    consumer = AIOKafkaConsumer(
        *([] if start is not None else topic_names),
        **aiokafka_options(settings),
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    records: list[ConsumerRecord] = []
    if start is not None:
        consumer.assign(list(start))
        for partition, offset in start.items():
            consumer.seek(partition, offset)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline and not done(records):
            batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
            for batch in batches.values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


NOWHERE: Position = ("", -1, -1)


def source_position(record: ConsumerRecord) -> Position:
    """The upstream position a kpi.events.v1 or kpi.deadletter.v1 record came from (NOWHERE for
    a record that is not one of ours: the topics are shared by the session's tests, and one of
    them publishes garbage on kpi.events.v1 on purpose)."""
    try:
        document: Any = json.loads(record.value or b"")
    except ValueError:
        return NOWHERE
    if not isinstance(document, dict):
        return NOWHERE
    if record.topic == topics.EVENTS:
        return (document["source_topic"], document["source_partition"], document["source_offset"])
    return (document["source_topic"], document["partition"], document["offset"])


def covers(positions: Iterable[Position]) -> Callable[[list[ConsumerRecord]], bool]:
    """A `read_until` condition: an output has been read for every one of these positions."""
    wanted = set(positions)

    def done(records: list[ConsumerRecord]) -> bool:
        return wanted <= {source_position(r) for r in records}

    return done


async def create_topic(settings: Settings, name: str, partitions: int) -> str:
    """A topic of a test's own, created on the broker; its name."""
    admin = AIOKafkaAdminClient(**aiokafka_options(settings))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    finally:
        await admin.close()
    return name
