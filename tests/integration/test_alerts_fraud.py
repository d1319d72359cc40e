"""Survey fraud end to end through the real broker: upstream surveys with raw phone numbers go
through ingest (which hashes them) to the alerts service, whose alerts land on kpi.alerts.v1 and
in MongoDB.

One phone number on the surveys of customers A, B and C raises one alert naming them; A and B
alone raise none; A's three surveys alone raise none; a callback to the agent's own phone
raises one.
"""

import json
import random
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord
from pymongo import AsyncMongoClient

from services.alerts.app import create_app as create_alerts
from services.alerts.store import MongoAlertStore
from services.ingest.app import create_app as create_ingest
from shared import topics
from shared.idle import KafkaGroupBacklog, wait_idle
from shared.localstack.probes import free_port_block
from shared.messages.alert import Alert, AlertState
from shared.settings import Settings
from tests.support.running import running
from tests.support.topics_io import publish_raw, read_until

pytestmark = pytest.mark.integration

# Agents of config/org.yaml with no moves; A0104's own phone is in org.yaml.
SHARED, PAIR, SAME_CUSTOMER, OWN = "A0101", "A0102", "A0103", "A0104"
OWN_PHONE = "+81-90-0000-0104"


def _survey(tag: str, n: int, agent: str, customer: str, phone: str) -> bytes:
    return json.dumps(
        {
            "event_id": f"fraud-{tag}-{n}",
            "event_type": "survey",
            "schema_version": 1,
            "occurred_at": f"2024-08-{10 + n:02d}T10:00:00+09:00",
            "source": "survey-tool",
            "agent_id": agent,
            "response_id": f"R-{tag}-{n}",
            "policy_id": f"P-{tag}-{n}",
            "customer_id": customer,
            "scale": 10,
            "score": "10",
            "channel": "phone",
            "callback_phone": phone,
        }
    ).encode()


def _alerts_of(records: list[ConsumerRecord], agent: str) -> list[Alert]:
    found = [Alert.model_validate_json(r.value) for r in records]
    return [a for a in found if a.entity == f"agent:{agent}"]


async def test_survey_fraud_patterns_raise_exactly_the_expected_alerts(
    settings: Settings, unique: str, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    rng = random.Random(unique)
    phones = [f"+81-80-{rng.randrange(10_000):04d}-{rng.randrange(10_000):04d}" for _ in range(3)]
    tag = f"{rng.randrange(16**8):08x}"
    surveys = [
        # A, B and C on one phone: one alert naming them.
        _survey(tag, 1, SHARED, f"C-{tag}-A", phones[0]),
        _survey(tag, 2, SHARED, f"C-{tag}-B", phones[0]),
        _survey(tag, 3, SHARED, f"C-{tag}-C", phones[0]),
        # A and B alone: none.
        _survey(tag, 4, PAIR, f"C-{tag}-A2", phones[1]),
        _survey(tag, 5, PAIR, f"C-{tag}-B2", phones[1]),
        # A's three surveys alone: none.
        _survey(tag, 6, SAME_CUSTOMER, f"C-{tag}-A3", phones[2]),
        _survey(tag, 7, SAME_CUSTOMER, f"C-{tag}-A3", phones[2]),
        _survey(tag, 8, SAME_CUSTOMER, f"C-{tag}-A3", phones[2]),
        # The agent's own phone: one.
        _survey(tag, 9, OWN, f"C-{tag}-D", OWN_PHONE),
    ]
    port = free_port_block(2)
    async with (
        running(create_ingest(settings), port),
        running(create_alerts(settings), port + 1),
    ):
        await publish_raw(settings, surveys)

        def both_found(records: list[ConsumerRecord]) -> bool:
            return bool(_alerts_of(records, SHARED)) and bool(_alerts_of(records, OWN))

        records = await read_until(settings, [topics.ALERTS], both_found, timeout_s=90)
        backlog = KafkaGroupBacklog(
            "alerts", topics.ALERTS_GROUP, (topics.SCORES, topics.EVENTS), settings
        )
        assert await wait_idle(settings, [backlog], timeout_s=60) == {"alerts": 0}
        records = await read_until(settings, [topics.ALERTS], both_found, timeout_s=10)

    shared = _alerts_of(records, SHARED)
    assert [a.rule for a in shared] == ["fraud_shared_callback_phone"]
    assert shared[0].state is AlertState.FIRING
    assert shared[0].evidence["customer_ids"] == [f"C-{tag}-A", f"C-{tag}-B", f"C-{tag}-C"]
    assert shared[0].period == "2024-08"
    assert _alerts_of(records, PAIR) == []
    assert _alerts_of(records, SAME_CUSTOMER) == []
    own = _alerts_of(records, OWN)
    assert [a.rule for a in own] == ["fraud_own_phone_callback"]
    assert own[0].evidence["customer_ids"] == [f"C-{tag}-D"]

    # No raw phone number reaches the topic or the store; the store lists the same alerts.
    raw = b"".join(r.value for r in records)
    assert not any(phone.encode() in raw for phone in [*phones, OWN_PHONE])
    stored = await MongoAlertStore(mongo_client, settings.mongodb_database).list_alerts(
        AlertState.FIRING
    )
    assert {shared[0].alert_id, own[0].alert_id} <= {a.alert_id for a in stored}
