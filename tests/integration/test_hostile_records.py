"""Records the framework cannot parse, on the real broker: headers and keys that are not UTF-8,
null header values, empty and missing values. Each record still gives exactly one outcome and
the partition keeps flowing (DESIGN §9)."""

import asyncio
import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Final, NamedTuple

import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord
from prometheus_client import CollectorRegistry

from services.ingest.app import create_app as create_ingest
from services.scoring.app import create_app as create_scoring
from shared import topics
from shared.config.loading import load_org
from shared.events import EventOrg, KpiEvent, validate_document
from shared.kafka import aiokafka_options
from shared.localstack import LocalStack
from shared.localstack.probes import free_port_block
from shared.settings import Settings
from tests.support.bad_corpus import good_messages
from tests.support.running import running
from tests.support.topics_io import Position, covers, read_until, source_position

pytestmark = pytest.mark.integration
NOT_UTF8: Final = b"\xff\xfe"
Headers = list[tuple[str, bytes | None]]


class Hostile(NamedTuple):
    """One record to publish as it is, and what must come of it."""

    value: bytes | None
    key: bytes | None
    headers: Headers
    outcome: str  # "accepted", or the dead-letter reason


def _sequence(good: Sequence[bytes], empty_reason: str) -> list[Hostile]:
    """Valid records around the hostile ones: the last two prove the partition moved on."""
    first, second, third, fourth, fifth, sixth = good
    return [
        Hostile(first, None, [], "accepted"),
        Hostile(second, None, [("trace", NOT_UTF8)], "accepted"),
        Hostile(third, NOT_UTF8, [], "accepted"),
        Hostile(fourth, None, [("nothing", None), ("trace", b"\xc3\x28")], "accepted"),
        Hostile(b"", None, [("trace", NOT_UTF8)], empty_reason),
        Hostile(None, NOT_UTF8, [], empty_reason),
        Hostile(fifth, None, [], "accepted"),
        Hostile(sixth, None, [], "accepted"),
    ]


async def _publish(settings: Settings, topic: str, records: Sequence[Hostile]) -> list[Position]:
    """Publish to partition 0 of `topic`, in order, headers and keys exactly as given."""
    producer = AIOKafkaProducer(**aiokafka_options(settings), acks="all")
    await producer.start()
    try:
        positions = []
        for record in records:
            sent = await producer.send_and_wait(
                topic, record.value, key=record.key, partition=0, headers=record.headers
            )
            positions.append((sent.topic, sent.partition, sent.offset))
    finally:
        await producer.stop()
    return positions


def _outcomes(records: list[ConsumerRecord], expected: set[Position]) -> Counter[Position]:
    return Counter(source_position(r) for r in records if source_position(r) in expected)


def _outcome(record: ConsumerRecord) -> str:
    return "accepted" if record.topic == topics.EVENTS else json.loads(record.value)["reason"]


async def test_ingest_gives_every_record_one_outcome_and_the_partition_keeps_flowing(
    settings: Settings, unique: str
) -> None:
    agents = sorted(load_org(settings.config_dir / "org.yaml").agent_ids)[:6]
    # Wall-clock times: never late whatever stream time other tests have left behind.
    start = datetime.now(UTC) - timedelta(hours=2)
    policies = [
        raw
        for raw in good_messages(36, agents, start, id_prefix=f"{unique}-")
        if json.loads(raw)["event_type"] == "policy"
    ]
    hostile = _sequence(policies, "empty_value")

    app = create_ingest(settings)
    async with running(app, free_port_block(1)):
        positions = await _publish(settings, topics.POLICY, hostile)
        expected = dict(zip(positions, (h.outcome for h in hostile), strict=True))
        outputs = await read_until(settings, [topics.EVENTS, topics.DEADLETTER], covers(expected))

    mine = [r for r in outputs if source_position(r) in expected]
    assert _outcomes(mine, set(expected)) == Counter(dict.fromkeys(expected, 1))
    assert {source_position(r): _outcome(r) for r in mine} == expected
    assert Counter(_outcome(r) for r in mine) == {"accepted": 6, "empty_value": 2}
    rejected = app.registry.get_sample_value(
        "kpi_ingest_rejected_total", {"event_type": "unknown", "reason": "empty_value"}
    )
    assert (rejected or 0) >= 2  # counted too; other tests' records may share the app


def _canonical(number: int, unique: str, org: EventOrg, at: datetime) -> bytes:
    event = validate_document(
        {
            "event_id": f"{unique}-{number}",
            "event_type": "policy",
            "schema_version": 1,
            "occurred_at": at.isoformat(),
            "source": "policy-admin",
            "agent_id": org.agent,
            "policy_id": f"P{number}",
            "customer_id": f"C{number}",
            "action": "issued",
            "product_line": "auto",
            "premium": "50000",
            "currency": "JPY",
            "channel": "face_to_face",
        }
    )
    canonical = KpiEvent(
        key=f"{event.source}:{event.event_id}",
        event=event,  # type: ignore[arg-type]  # validate_document returns the concrete model
        occurred_at_offset="+00:00",
        org=org,
        received_at=at,
        source_topic=topics.POLICY,
        source_partition=2,
        source_offset=10_000 + number,
    )
    return canonical.model_dump_json().encode()


async def _applied_at_least(registry: CollectorRegistry, count: int, *, timeout_s: float) -> float:
    """`kpi_scoring_events_applied_total` once it reaches `count` (or what it is at the end)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        applied = registry.get_sample_value("kpi_scoring_events_applied_total") or 0.0
        if applied >= count or loop.time() >= deadline:
            return applied
        await asyncio.sleep(0.2)


async def test_scoring_gives_every_record_one_outcome_and_the_partition_keeps_flowing(
    private_stack: LocalStack, unique: str
) -> None:
    # A stack of its own: the garbage it puts on kpi.events.v1 must not reach other tests.
    settings = private_stack.settings
    # A database of its own: this scoring instance starts at the beginning of kpi.events.v1
    # and leaves the session's state as it found it.
    own = settings.model_copy(update={"mongodb_database": f"hostile_{unique}"[:60]})
    chart = load_org(settings.config_dir / "org.yaml")
    path = chart.resolve(sorted(chart.agent_ids)[0], datetime.now(UTC).date())
    org = EventOrg.model_validate(path, from_attributes=True)
    now = datetime.now(UTC).replace(microsecond=0)
    events = [_canonical(n, unique, org, now - timedelta(minutes=10 - n)) for n in range(6)]
    # Ends with one more unreadable record: its dead letter shows that scoring went past the
    # valid events before it.
    hostile = [
        *_sequence(events, "schema_violation"),
        Hostile(None, NOT_UTF8, [("trace", NOT_UTF8)], "schema_violation"),
    ]

    app = create_scoring(own)
    async with running(app, free_port_block(1)):
        positions = await _publish(own, topics.EVENTS, hostile)
        letters = {p for p, h in zip(positions, hostile, strict=True) if h.outcome != "accepted"}
        outputs = await read_until(own, [topics.DEADLETTER], covers(letters))
        # A batch's dead letters are acknowledged inside its transaction, its metrics counted
        # after the commit: wait for the commit rather than read the counter in between.
        applied = await _applied_at_least(app.registry, 6, timeout_s=60)

    dead = {
        source_position(r): json.loads(r.value)["reason"]
        for r in outputs
        if source_position(r) in set(positions)
    }
    assert dead == dict.fromkeys(letters, "schema_violation")
    assert len(letters) == 3
    assert applied >= 6
