"""The dead-letter message (DESIGN §11): its shape, its rules, and building it from a rejection."""

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final

import pytest
from pydantic import ValidationError

from shared import topics
from shared.events import ContractViolation, RejectReason, decode_upstream
from shared.messages import DeadLetter

RECEIVED: Final = datetime(2024, 4, 1, 9, 30, tzinfo=timezone(timedelta(hours=9)))
RAW: Final = b'{"event_type": "policy", "premium": NaN}\xff'


def violation_of(raw: bytes) -> ContractViolation:
    with pytest.raises(ContractViolation) as caught:
        decode_upstream(raw)
    return caught.value


def letter(**changes: Any) -> DeadLetter:
    fields: dict[str, Any] = {
        "reason": "schema_violation",
        "detail": "premium: field required",
        "source_topic": topics.POLICY,
        "partition": 3,
        "offset": 1_234_567,
        "received_at": "2024-04-01T00:30:00Z",
        "payload_base64": base64.b64encode(b"{}").decode(),
        **changes,
    }
    return DeadLetter.model_validate(fields)


def test_from_violation_keeps_reason_detail_origin_and_exact_bytes() -> None:
    raw = b'{"event_type": "claim"}'
    dead = DeadLetter.from_violation(
        raw,
        topic=topics.COMPLAINT,
        partition=2,
        offset=41,
        violation=violation_of(raw),
        received_at=RECEIVED,
    )
    assert dead.reason is RejectReason.UNKNOWN_EVENT_TYPE
    assert dead.detail == (
        "event_type 'claim' is not one of policy, renewal, complaint, survey, assessment, training"
    )
    assert (dead.source_topic, dead.partition, dead.offset) == (topics.COMPLAINT, 2, 41)
    assert dead.payload == raw
    assert dead.schema_version == 1


def test_bytes_that_are_not_utf8_survive_base64() -> None:
    dead = DeadLetter.from_violation(
        RAW, topic=topics.POLICY, partition=0, offset=0, violation=violation_of(RAW)
    )
    assert dead.reason is RejectReason.MALFORMED_JSON
    assert dead.payload == RAW
    assert dead.payload_base64 == base64.b64encode(RAW).decode("ascii")
    assert "\n" not in dead.payload_base64


def test_received_at_is_normalised_to_utc() -> None:
    dead = letter(received_at=RECEIVED)
    assert dead.received_at == RECEIVED
    assert dead.received_at.utcoffset() == timedelta(0)


def test_received_at_defaults_to_now_in_utc() -> None:
    before = datetime.now(UTC)
    dead = DeadLetter.from_violation(
        b"[]", topic=topics.SURVEY, partition=0, offset=7, violation=violation_of(b"[]")
    )
    assert before <= dead.received_at <= datetime.now(UTC)
    assert dead.received_at.utcoffset() == timedelta(0)


def test_json_has_exactly_the_documented_shape() -> None:
    raw = b"x" * 70_000
    dead = DeadLetter.from_violation(
        raw,
        topic=topics.TRAINING,
        partition=1,
        offset=99,
        violation=violation_of(raw),
        received_at=RECEIVED,
    )
    document = json.loads(dead.model_dump_json())
    assert document == {
        "schema_version": 1,
        "reason": "too_large",
        "detail": "message is 70,000 bytes; the limit is 65,536",
        "source_topic": "insurance.training.v1",
        "partition": 1,
        "offset": 99,
        "received_at": "2024-04-01T00:30:00Z",
        "payload_base64": base64.b64encode(raw).decode("ascii"),
    }
    assert DeadLetter.model_validate_json(dead.model_dump_json()) == dead


def test_is_frozen() -> None:
    dead = letter()
    with pytest.raises(ValidationError, match="frozen"):
        dead.offset = 0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"reason": "bad_vibes"}, "reason"),
        ({"received_at": "2024-04-01T09:30:00"}, "received_at"),
        ({"partition": -1}, "partition"),
        ({"offset": -1}, "offset"),
        ({"detail": ""}, "detail"),
        ({"source_topic": ""}, "source_topic"),
        ({"payload_base64": "not base64!"}, "payload_base64"),
        ({"schema_version": 2}, "schema_version"),
        ({"extra": 1}, "extra"),
    ],
)
def test_invalid_dead_letter_is_refused(changes: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError) as caught:
        letter(**changes)
    assert [e["loc"] for e in caught.value.errors()] == [(error,)]


def test_naive_received_at_is_refused_when_building() -> None:
    with pytest.raises(ValidationError, match="received_at"):
        DeadLetter.from_violation(
            b"[]",
            topic=topics.POLICY,
            partition=0,
            offset=0,
            violation=violation_of(b"[]"),
            received_at=datetime(2024, 4, 1, 9, 30),
        )
