"""The alerts service reads back what it published (`KafkaPublishedAlerts`) on the real local
broker: every alert message of a topic of two partitions, in each partition's order, and a
record that is not an alert skipped."""

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from services.alerts.published import KafkaPublishedAlerts
from shared.kafka import aiokafka_options
from shared.messages import AlertSeverity
from shared.settings import Settings
from tests.unit.alerts.test_published_alerts import alert

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(loop_scope="session")
async def topic(settings: Settings, unique: str) -> AsyncIterator[str]:
    name = f"alerts-{unique}"[:100]
    admin = AIOKafkaAdminClient(**aiokafka_options(settings))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()
    yield name


async def test_every_alert_published_is_read_back_in_partition_order(
    settings: Settings, topic: str
) -> None:
    first = [alert("branch:B01"), alert("branch:B01", severity=AlertSeverity.CRITICAL)]
    second = [alert("branch:B02"), alert("branch:B02", resolved=True)]
    producer = AIOKafkaProducer(**aiokafka_options(settings), acks="all")
    await producer.start()
    try:
        for partition, alerts in ((0, first), (1, second)):
            for one in alerts:
                await producer.send_and_wait(
                    topic, one.model_dump_json().encode(), partition=partition
                )
        await producer.send_and_wait(topic, b"not an alert", partition=0)
    finally:
        await producer.stop()

    read = await KafkaPublishedAlerts(settings, topic).read()

    assert [a for a in read if a.entity == "branch:B01"] == first
    assert [a for a in read if a.entity == "branch:B02"] == second
    assert len(read) == 4


async def test_an_empty_topic_reads_back_nothing(settings: Settings, topic: str) -> None:
    assert await KafkaPublishedAlerts(settings, topic).read() == []
