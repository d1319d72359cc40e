"""The canonical event of kpi.events.v1: exact money, UTC time with its offset, hashed phones."""

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Final

import pytest
from pydantic import ValidationError

from services.ingest.canonicalise import canonicalise
from services.ingest.phones import PhoneHasher
from shared import topics
from shared.config import OrgPath
from shared.events import (
    EventOrg,
    KpiEvent,
    PolicyEvent,
    SurveyEvent,
    UpstreamEvent,
    decode_upstream,
    utc_offset_text,
)
from tests.support import upstream_samples

HASHER: Final = PhoneHasher(b"test-key-" * 4)
RECEIVED: Final = datetime(2024, 4, 1, 9, 31, tzinfo=timezone(timedelta(hours=9)))
AGENT_PATH: Final = OrgPath("ACME", "R1", "B01", "T01", "A0001")
BRANCH_PATH: Final = OrgPath("ACME", "R1", "B01")


ENVELOPE: Final[dict[str, Any]] = {
    "occurred_at": "2024-04-01T09:30:00+09:00",
    "schema_version": 1,
    "agent_id": "A0001",
}
# The shared samples, moved to the envelope's time and agent (A0001's path is AGENT_PATH).
POLICY: Final = {**upstream_samples.POLICY, **ENVELOPE, "premium": "12345678901234.5678"}
SURVEY: Final = {**upstream_samples.SURVEY, **ENVELOPE, "score": "9.50"}
BRANCH_COMPLAINT: Final = {
    **upstream_samples.BRANCH_COMPLAINT,
    **ENVELOPE,
    "agent_id": None,
    "branch_id": "B01",
}


def decoded(document: dict[str, Any], **fields: Any) -> UpstreamEvent:
    return decode_upstream(json.dumps(document | fields).encode())


def upstream(**fields: Any) -> UpstreamEvent:
    return decoded(POLICY, **fields)


def survey(**fields: Any) -> UpstreamEvent:
    return decoded(SURVEY, **fields)


def canonical(event: UpstreamEvent, org: OrgPath | EventOrg = AGENT_PATH) -> KpiEvent:
    return canonicalise(
        event,
        org=org,
        hasher=HASHER,
        received_at=RECEIVED,
        source_topic=topics.POLICY,
        source_partition=2,
        source_offset=41,
    )


def test_decimal_premium_survives_the_json_round_trip_exactly() -> None:
    event = canonical(upstream())
    text = event.model_dump_json()
    assert json.loads(text)["event"]["premium"] == "12345678901234.5678"  # a string, not a float
    again = KpiEvent.model_validate_json(text)
    assert again == event
    assert isinstance(again.event, PolicyEvent)
    assert again.event.premium == Decimal("12345678901234.5678")
    assert str(again.event.premium) == "12345678901234.5678"
    assert KpiEvent.model_validate(event.model_dump(mode="json")) == event


def test_money_keeps_its_written_precision() -> None:
    for premium in ("78000", "4500.50", "0.0001", "0"):
        event = canonical(upstream(premium=premium))
        dumped = json.loads(event.model_dump_json())["event"]["premium"]
        assert dumped == premium
        assert KpiEvent.model_validate_json(event.model_dump_json()) == event


@pytest.mark.parametrize(
    ("written", "offset"),
    [
        ("2024-04-01T09:30:00+09:00", "+09:00"),
        ("2024-04-01T08:30:00+08:00", "+08:00"),
        ("2024-03-31T19:30:00-05:00", "-05:00"),
        ("2024-04-01T06:00:00+05:30", "+05:30"),
        ("2024-04-01T00:30:00Z", "+00:00"),
        ("2024-04-01T00:30:00.250000+00:00", "+00:00"),
    ],
)
def test_occurred_at_becomes_utc_and_keeps_the_instant_and_the_offset(
    written: str, offset: str
) -> None:
    sent = upstream(occurred_at=written)
    event = canonical(sent)
    assert event.event.occurred_at == sent.occurred_at  # the same instant
    assert event.event.occurred_at.utcoffset() == timedelta(0)
    assert event.event.occurred_at.tzinfo is UTC
    assert event.occurred_at_offset == offset
    assert event.occurred_at_local.isoformat() == datetime.fromisoformat(written).isoformat()
    again = KpiEvent.model_validate_json(event.model_dump_json())
    assert again.occurred_at_local == sent.occurred_at
    assert again.occurred_at_offset == offset


def test_offset_text_with_seconds() -> None:
    moment = datetime(1900, 1, 1, tzinfo=timezone(timedelta(hours=9, minutes=18, seconds=59)))
    assert utc_offset_text(moment) == "+09:18:59"
    with pytest.raises(ValueError, match="has no UTC offset"):
        utc_offset_text(datetime(2024, 4, 1))  # naive on purpose


def test_key_origin_and_received_time() -> None:
    event = canonical(upstream())
    assert event.key == "policy-admin:pol-000001"
    assert event.schema_version == 1
    assert (event.source_topic, event.source_partition, event.source_offset) == (
        topics.POLICY,
        2,
        41,
    )
    assert event.received_at == RECEIVED
    assert event.received_at.tzinfo is UTC
    assert event.org == EventOrg(
        company="ACME", region="R1", branch="B01", team="T01", agent="A0001"
    )
    assert event.org.entities() == (
        "company:ACME",
        "region:R1",
        "branch:B01",
        "team:T01",
        "agent:A0001",
    )


def test_phones_are_hashed_and_the_raw_numbers_dropped() -> None:
    sent = survey(callback_phone="090-1234-5678", agent_phone="+81 80 9876 5432")
    event = canonical(sent)
    assert isinstance(event.event, SurveyEvent)
    assert event.event.callback_phone is None
    assert event.event.agent_phone is None
    assert event.callback_phone_hash == HASHER.hash("+81-90-1234-5678")
    assert event.agent_phone_hash == HASHER.hash("080-9876-5432")
    text = event.model_dump_json()
    for raw in ("1234", "5678", "9876", "5432"):
        assert raw not in text.replace(event.callback_phone_hash, "").replace(
            event.agent_phone_hash, ""
        )
    assert KpiEvent.model_validate_json(text) == event


def test_a_survey_without_phones_has_no_hashes() -> None:
    event = canonical(survey())
    assert event.callback_phone_hash is None
    assert event.agent_phone_hash is None


def test_a_branch_event_carries_the_branch_path() -> None:
    sent = decoded(BRANCH_COMPLAINT)
    event = canonical(sent, org=BRANCH_PATH)
    assert event.org.team is None
    assert event.org.agent is None
    assert event.org.entities() == ("company:ACME", "region:R1", "branch:B01")
    assert KpiEvent.model_validate_json(event.model_dump_json()) == event


def fields_of(event: KpiEvent, **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = event.model_dump(mode="json")
    document.update(changes)
    return document


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"key": "policy-admin:other"}, "key: expected 'policy-admin:pol-000001'"),
        ({"occurred_at_offset": "+9:00"}, "String should match pattern"),
        ({"callback_phone_hash": "090-1234-5678"}, "String should match pattern"),
        ({"received_at": "2024-04-01T09:31:00"}, "Input should have timezone info"),
        ({"source_offset": -1}, "greater than or equal to 0"),
        ({"schema_version": 2}, "Input should be 1"),
        ({"extra": 1}, "Extra inputs are not permitted"),
        (
            {"org": {"company": "ACME", "region": "R1", "branch": "B01", "team": "T01"}},
            "team and agent are given together",
        ),
        (
            {
                "org": {
                    "company": "ACME",
                    "region": "R1",
                    "branch": "B01",
                    "team": "T01",
                    "agent": "A0002",
                }
            },
            "org: the path company:ACME > region:R1 > branch:B01 > team:T01 > agent:A0002 is "
            "not the event's owner agent:A0001",
        ),
    ],
)
def test_the_canonical_contract_refuses_inconsistent_events(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        KpiEvent.model_validate(fields_of(canonical(upstream()), **changes))


def test_raw_phones_and_local_times_never_pass_on_the_topic() -> None:
    event = canonical(survey())
    document = fields_of(event)
    document["event"]["callback_phone"] = "090-1234-5678"
    with pytest.raises(ValidationError, match="raw phone numbers must be replaced"):
        KpiEvent.model_validate(document)
    document = fields_of(event)
    document["event"]["occurred_at"] = "2024-04-01T09:30:00+09:00"
    with pytest.raises(ValidationError, match="occurred_at: must be in UTC"):
        KpiEvent.model_validate(document)


def test_canonicalise_refuses_the_wrong_owner_and_a_bare_envelope() -> None:
    with pytest.raises(ValidationError, match="is not the event's owner"):
        canonical(upstream(), org=OrgPath("ACME", "R1", "B01", "T01", "A0999"))
    bare = UpstreamEvent(
        event_id="e1",
        occurred_at=RECEIVED,
        source="x",
        schema_version=1,
        agent_id="A0001",
    )
    with pytest.raises(TypeError, match="expected a v1 event model, got UpstreamEvent"):
        canonical(bare)


def test_the_canonical_event_is_immutable() -> None:
    event = canonical(upstream())
    with pytest.raises(ValidationError):
        event.key = "x"  # type: ignore[misc]
