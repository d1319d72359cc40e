"""The event contract over the real local broker: what a publisher sends is what a subscriber
receives, as the validated model, with money exact."""

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from faststream.kafka import KafkaBroker

from shared import topics
from shared.codec import upstream_event_decoder
from shared.events import PolicyAction, PolicyEvent
from shared.kafka import create_broker
from shared.settings import Settings

pytestmark = pytest.mark.integration

RAW_POLICY = (
    b'{"event_id": "pa-000123", "event_type": "policy", "schema_version": 1,'
    b' "occurred_at": "2024-03-31T23:30:00+09:00", "source": "policy-admin",'
    b' "agent_id": "A001", "policy_id": "P-778", "customer_id": "C-42", "action": "issued",'
    b' "product_line": "auto", "premium": 12345678901234.5678, "currency": "JPY",'
    b' "channel": "face_to_face", "new_business": true, "referral": false}'
)


async def test_an_event_published_to_the_policy_topic_reaches_a_subscriber_as_the_model(
    settings: Settings, unique: str
) -> None:
    broker: KafkaBroker = create_broker(settings, client_id="contract-test")
    received: asyncio.Queue[PolicyEvent] = asyncio.Queue()

    @broker.subscriber(
        topics.POLICY,
        group_id=f"contract-{unique}",
        auto_offset_reset="earliest",
        decoder=upstream_event_decoder,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=1_000,
    )
    async def on_policy(event: PolicyEvent) -> None:
        if event.event_id == "pa-000123":
            await received.put(event)

    async with broker:
        await broker.start()
        await broker.publish(RAW_POLICY, topics.POLICY, key=b"A001")
        event = await asyncio.wait_for(received.get(), timeout=30)

    assert isinstance(event, PolicyEvent)
    assert event.premium == Decimal("12345678901234.5678")
    assert event.action is PolicyAction.ISSUED
    assert event.occurred_at.astimezone(UTC) == datetime(2024, 3, 31, 14, 30, tzinfo=UTC)
    assert event.org_key == "agent:A001"
