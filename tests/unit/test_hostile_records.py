"""Records the framework cannot parse must not stall a partition (DESIGN §9): no header or key
is read before triage, and every consuming service reads the value alone."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from faststream.kafka import TestKafkaBroker
from faststream.kafka.message import KafkaMessage
from faststream.kafka.parser import AioKafkaBatchParser

from services.alerts.app import create_app as create_alerts
from services.alerts.app import raw_records
from services.ingest.app import create_app as create_ingest
from services.ingest.app import upstream_records
from services.scoring.app import create_app as create_scoring
from services.scoring.consumer import decode_records
from shared import topics
from shared.events import RejectReason
from shared.kafka import RawBatch, headerless_batch
from shared.service import ServiceApp
from shared.settings import Settings, load_settings
from tests.support import upstream_samples
from tests.support.fakes import MemoryClaimStore, RecordingOutput
from tests.support.scoring_events import policy

CONFIG: Final = Path(__file__).resolve().parents[2] / "config"
POLICY: Final = {**upstream_samples.POLICY, "agent_id": "A0001"}
POLICY_TIME: Final = datetime(2024, 9, 30, 1, 0, tzinfo=UTC)
NOT_UTF8: Final = b"\xff\xfe"
EMPTY_DETAIL: Final = (
    "the record has no value (empty, or a null tombstone); an event is a JSON object"
)


def settings() -> Settings:
    # Nothing listens on port 1: building the apps must not connect anywhere.
    return load_settings(
        KPI_CONFIG_DIR=CONFIG,
        KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1",
        MONGODB_URI="mongodb://127.0.0.1:1/?retryWrites=false",
        KPI_LOCAL_STACK=True,
    )


def record(
    offset: int,
    value: bytes | None,
    *,
    key: bytes | None = None,
    headers: list[tuple[str, bytes | None]] | None = None,
    topic: str = topics.POLICY,
) -> ConsumerRecord[bytes, bytes]:
    """A record as aiokafka hands it over (header values are bytes or None)."""
    return ConsumerRecord(
        topic=topic,
        partition=0,
        offset=offset,
        timestamp=1_727_658_000_000,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=len(key) if key is not None else -1,
        serialized_value_size=len(value) if value is not None else -1,
        headers=headers or [],
    )


def hostile_batch(value: bytes | list[bytes], topic: str = topics.POLICY) -> RawBatch:
    """Good values carrying unreadable keys and headers, then empty and missing values; one
    value for all good records, or one each (five)."""
    good = iter(value if isinstance(value, list) else [value] * 5)
    return (
        record(0, next(good), topic=topic),
        record(1, next(good), headers=[("trace", NOT_UTF8)], topic=topic),
        record(2, next(good), key=NOT_UTF8, topic=topic),
        record(3, next(good), key=None, headers=[("nothing", None)], topic=topic),
        record(4, b"", headers=[("trace", NOT_UTF8)], topic=topic),
        record(5, None, key=NOT_UTF8, topic=topic),
        record(6, next(good), topic=topic),
    )


def default_parser() -> AioKafkaBatchParser:
    return AioKafkaBatchParser(msg_class=KafkaMessage, regex=None)


class TestHeaderlessBatchParser:
    async def test_fast_streams_own_parser_raises_on_such_a_batch(self) -> None:
        # Why the services bring their own parser; should FastStream stop decoding headers,
        # this tells us the workaround can go.
        with pytest.raises(UnicodeDecodeError):
            await default_parser().parse_batch(hostile_batch(b"{}"))

    @pytest.mark.parametrize(
        "headers",
        [[("trace", NOT_UTF8)], [("nothing", None)], [("trace", b"\xc3\x28"), ("ok", b"fine")]],
        ids=["not-utf8", "null-value", "invalid-continuation"],
    )
    async def test_no_header_is_read(self, headers: list[tuple[str, bytes | None]]) -> None:
        batch = (record(0, b"{}"), record(1, b"{}", headers=headers))

        message = await headerless_batch(batch, default_parser().parse_batch)

        assert message.headers == {}
        assert message.body == [b"{}", b"{}"]

    async def test_the_handler_gets_the_records_as_they_came(self) -> None:
        batch = hostile_batch(b"{}")

        message = await headerless_batch(batch, default_parser().parse_batch)

        assert message.raw_message is batch
        assert message.raw_message[1].headers == [("trace", NOT_UTF8)]
        assert [r.key for r in message.raw_message] == [
            None,
            None,
            NOT_UTF8,
            None,
            None,
            NOT_UTF8,
            None,
        ]

    async def test_a_reply_to_header_cannot_direct_the_handlers_result(self) -> None:
        batch = (record(0, b"{}", headers=[("reply_to", topics.SCORES.encode())]),)

        message = await headerless_batch(batch, default_parser().parse_batch)

        assert message.reply_to == ""

    @pytest.mark.parametrize(
        "build",
        [
            lambda s: create_ingest(s, output=RecordingOutput(), claims=MemoryClaimStore()),
            lambda s: create_scoring(s, output=RecordingOutput()),
            lambda s: create_alerts(s, output=RecordingOutput()),
        ],
        ids=["ingest", "scoring", "alerts"],
    )
    async def test_every_consuming_service_parses_a_hostile_batch(self, build: Any) -> None:
        app: ServiceApp = build(settings())
        (subscriber,) = app.broker.subscribers
        batch = hostile_batch(b"{}")

        async with TestKafkaBroker(app.broker):
            (call,) = subscriber.calls
            assert call.parser is not None
            message = await call.parser(batch)  # the parser FastStream composed for it

        assert message.raw_message is batch


class TestRecordsAsEachServiceReadsThem:
    def test_ingest_reads_the_value_alone_and_a_tombstone_as_empty(self) -> None:
        value = json.dumps(POLICY).encode()

        records = upstream_records(hostile_batch(value))

        assert [r.value for r in records] == [value] * 4 + [b"", b"", value]
        assert [r.offset for r in records] == list(range(7))
        assert {r.timestamp_ms for r in records} == {1_727_658_000_000}

    def test_scoring_decodes_the_value_alone_and_keeps_an_empty_ones_place(self) -> None:
        event = policy(1, "A1", POLICY_TIME, "issued")
        value = event.model_dump_json().encode()

        records = decode_records(hostile_batch(value, topic=topics.EVENTS))

        assert [r.event for r in records] == [event] * 4 + [None, None, event]
        assert [r.raw for r in records] == [value] * 4 + [b"", b"", value]

    def test_alerts_reads_the_value_alone_and_a_tombstone_as_empty(self) -> None:
        records = raw_records(hostile_batch(b"{}", topic=topics.SCORES))

        assert [r.value for r in records] == [b"{}"] * 4 + [b"", b"", b"{}"]


class LagConsumer:
    """What ingest's handler asks of its consumer: its assignment, positions and high
    watermarks, for the lag gauge and the event-time backlog."""

    def highwater(self, partition: TopicPartition) -> int | None:
        return 7

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition("insurance.policy.v1", 0)}

    async def position(self, partition: TopicPartition) -> int:
        return 7


async def test_ingest_gives_every_record_of_a_hostile_batch_one_output() -> None:
    output = RecordingOutput()
    app = create_ingest(settings(), output=output, claims=MemoryClaimStore())
    (subscriber,) = app.broker.subscribers
    batch = hostile_batch(
        [json.dumps(POLICY | {"event_id": f"pol-{n}"}).encode() for n in range(5)]
    )

    async with TestKafkaBroker(app.broker):
        subscriber.consumer = LagConsumer()  # type: ignore[attr-defined]
        await subscriber.process_message(batch)

    events = [json.loads(m.value) for m in output.sent if m.topic == topics.EVENTS]
    letters = [json.loads(m.value) for m in output.sent if m.topic == topics.DEADLETTER]
    assert [e["source_offset"] for e in events] == [0, 1, 2, 3, 6]
    assert [(d["offset"], d["reason"], d["detail"]) for d in letters] == [
        (4, RejectReason.EMPTY_VALUE.value, EMPTY_DETAIL),
        (5, RejectReason.EMPTY_VALUE.value, EMPTY_DETAIL),
    ]
    assert {d["payload_base64"] for d in letters} == {""}
    rejected = {"event_type": "unknown", "reason": RejectReason.EMPTY_VALUE.value}
    assert app.registry.get_sample_value("kpi_ingest_rejected_total", rejected) == 2
