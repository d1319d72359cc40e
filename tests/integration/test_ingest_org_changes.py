"""Organisation changes on kpi.org.v1 reach ingest: an agent who moves branch mid-period counts
for the old branch before the move and for the new one after it."""

import hashlib
import json

import pytest
from aiokafka import AIOKafkaProducer

from services.ingest.app import create_app
from shared import topics
from shared.kafka import aiokafka_options
from shared.localstack.probes import free_port_block
from shared.settings import Settings
from tests.support.running import running
from tests.support.topics_io import publish_raw, read_until

pytestmark = pytest.mark.integration

MOVE = {
    "assignments": [
        {"team": "T02", "phone": "+81-90-0000-0050", "from": "2014-04-01"},
        {"team": "T07", "phone": "+81-90-0000-0050", "from": "2024-08-01"},
    ]
}


def _policy(event_id: str, occurred_at: str) -> bytes:
    return json.dumps(
        {
            "event_id": event_id,
            "event_type": "policy",
            "schema_version": 1,
            "occurred_at": occurred_at,
            "source": "policy-admin",
            "agent_id": "A0050",
            "policy_id": f"P-{event_id}",
            "customer_id": "C-1",
            "action": "issued",
            "product_line": "auto",
            "premium": "52000",
            "currency": "JPY",
            "channel": "online",
            "new_business": True,
        }
    ).encode()


async def test_an_agent_moved_on_kpi_org_counts_for_each_branch_on_its_own_dates(
    settings: Settings, unique: str
) -> None:
    producer = AIOKafkaProducer(**aiokafka_options(settings), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topics.ORG, json.dumps(MOVE).encode(), key=b"agent:A0050")
        # A record the chart cannot take is refused without stopping anything.
        await producer.send_and_wait(
            topics.ORG, json.dumps({"branch": "B99"}).encode(), key=b"team:T77"
        )
    finally:
        await producer.stop()

    app = create_app(settings)
    async with running(app, free_port_block(1)):
        tag = hashlib.sha256(unique.encode()).hexdigest()[:10]
        before, after = f"move-{tag}-before", f"move-{tag}-after"
        await publish_raw(
            settings,
            [
                _policy(before, "2024-07-31T23:59:00+09:00"),
                _policy(after, "2024-08-01T00:00:00+09:00"),
            ],
        )

        def both(records: list[object]) -> bool:
            found = {json.loads(r.value)["event"]["event_id"] for r in records}  # type: ignore[attr-defined]
            return {before, after} <= found

        records = await read_until(settings, [topics.EVENTS], both)
        refused = await read_until(
            settings,
            [topics.DEADLETTER],
            lambda rs: any(r.topic == topics.DEADLETTER and r.key == b"team:T77" for r in rs),
        )

    branches = {
        json.loads(r.value)["event"]["event_id"]: json.loads(r.value)["org"]["branch"]
        for r in records
    }
    assert branches[before] == "B01"
    assert branches[after] == "B02"
    refused_count = app.registry.get_sample_value(
        "kpi_ingest_org_changes_total", {"result": "refused"}
    )
    applied = app.registry.get_sample_value("kpi_ingest_org_changes_total", {"result": "applied"})
    letters = [json.loads(r.value) for r in refused if r.key == b"team:T77"]
    assert letters[0]["source_topic"] == topics.ORG
    assert letters[0]["reason"] == "schema_violation"
    assert "B99" in letters[0]["detail"]
    assert refused_count is not None
    assert refused_count >= 1
    assert applied is not None
    assert applied >= 1
