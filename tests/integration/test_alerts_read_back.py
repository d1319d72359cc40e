"""The alerts service reads back what it published (`KafkaPublishedAlerts`) on the real local
broker: every alert message of a topic of two partitions, in each partition's order, and a
record that is not an alert skipped."""

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer

from services.alerts.published import KafkaPublishedAlerts
from shared.kafka import aiokafka_options
from shared.messages import AlertSeverity, AlertState
from shared.settings import Settings
from tests.support.alert_store_contract import alert
from tests.support.topics_io import create_topic

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(loop_scope="session")
async def topic(settings: Settings, unique: str) -> AsyncIterator[str]:
    yield await create_topic(settings, f"alerts-{unique}"[:100], partitions=2)


async def test_every_alert_published_is_read_back_in_partition_order(
    settings: Settings, topic: str
) -> None:
    first = [alert("branch:B01"), alert("branch:B01", severity=AlertSeverity.CRITICAL)]
    second = [alert("branch:B02"), alert("branch:B02", state=AlertState.RESOLVED)]
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
