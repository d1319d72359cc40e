"""The raw speed of the local broker and database, the yardstick every pipeline figure is read
against in the same run."""

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import AsyncMongoClient, UpdateOne

from shared.events import decode_upstream
from shared.kafka import aiokafka_options
from shared.settings import Settings

from .processes import CpuUsage


@dataclass(frozen=True)
class Measurement:
    """One figure: what was measured, how many items, how long; what each process used while
    it ran (share of a core), the peak RSS of the processes it started, and what limits it."""

    name: str
    items: int
    seconds: float
    cpu: Mapping[str, float] = field(default_factory=dict)
    rss_mib: Mapping[str, float] = field(default_factory=dict)
    limit: str = ""

    @property
    def rate(self) -> float:
        """Items per second."""
        return self.items / self.seconds if self.seconds else float("inf")


def sample_event(index: int) -> bytes:
    """A valid policy event of realistic size."""
    return json.dumps(
        {
            "event_id": f"bench-{index}",
            "event_type": "policy",
            "schema_version": 1,
            "occurred_at": "2024-05-10T10:15:00+09:00",
            "source": "policy-admin",
            "agent_id": f"A{index % 1000:04d}",
            "policy_id": f"P{index:08d}",
            "customer_id": f"C{index % 50_000:06d}",
            "action": "issued",
            "product_line": "auto",
            "premium": "84000.00",
            "currency": "JPY",
            "channel": "face_to_face",
            "new_business": True,
            "referral": index % 5 == 0,
        }
    ).encode()


async def broker_produce_consume(
    settings: Settings, topic: str, count: int, pids: Mapping[str, int]
) -> list[Measurement]:
    """Produce `count` messages with a batching producer, then consume them all; the CPU of
    the `pids` is measured over each."""
    options = aiokafka_options(settings)
    admin = AIOKafkaAdminClient(**options)
    await admin.start()
    try:
        partitions = settings.topic_partitions
        await admin.create_topics([NewTopic(topic, partitions, replication_factor=1)])
    finally:
        await admin.close()
    payloads = [sample_event(i) for i in range(count)]
    producer = AIOKafkaProducer(**options, acks="all", linger_ms=20, max_batch_size=512 * 1024)
    await producer.start()
    usage = CpuUsage(pids).start()
    started = time.perf_counter()
    try:
        futures = [await producer.send(topic, p, key=p[-8:]) for p in payloads]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    produced = Measurement(
        "broker produce (batching producer, acks=all)",
        count,
        time.perf_counter() - started,
        cpu=usage.stop(),
    )

    consumer = AIOKafkaConsumer(
        topic,
        **options,
        group_id=f"bench-raw-{time.time_ns()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    await consumer.start()
    seen = 0
    usage.start()
    started = time.perf_counter()
    try:
        while seen < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            seen += sum(len(records) for records in batches.values())
    finally:
        await consumer.stop()
    elapsed = time.perf_counter() - started
    consumed = Measurement("broker consume (getmany)", seen, elapsed, cpu=usage.stop())
    return [produced, consumed]


async def database_bulk_upserts(settings: Settings, collection: str, count: int) -> Measurement:
    """Bulk `$inc` upserts of distinct documents in one transaction per 1,000."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_uri.get_secret_value()
    )
    target = client[settings.mongodb_database][collection]
    await target.drop()
    started = time.perf_counter()
    try:
        for first in range(0, count, 1_000):
            operations = [
                UpdateOne({"_id": f"doc-{i}"}, {"$inc": {"n": 1}}, upsert=True)
                for i in range(first, min(first + 1_000, count))
            ]
            async with client.start_session() as session, await session.start_transaction():
                await target.bulk_write(operations, ordered=False, session=session)
        elapsed = time.perf_counter() - started
        await target.drop()
    finally:
        await client.close()
    return Measurement("database bulk upserts (1,000 a transaction)", count, elapsed)


def contract_decoding(count: int) -> Measurement:
    """Parse and validate upstream events with the v1 contract."""
    payloads = [sample_event(i) for i in range(count)]
    started = time.perf_counter()
    for payload in payloads:
        decode_upstream(payload)
    return Measurement(
        "contract decode + validate (one core)", count, time.perf_counter() - started
    )
