"""Records the hostile-input fuzzer (tests/resilience/test_hostile_input.py) found to make
triage raise instead of giving a reason; ingest dead-lettered them as `processing_error` with
a traceback in its log. Each now gets the publisher's reason, on the fast path and the slow.
"""

import json
from datetime import UTC, datetime

import pytest

from services.ingest.triage import Accepted, Record, Rejected, Triage
from shared import topics
from tests.support import upstream_samples
from tests.support.unit_triage import make_triage

RECEIVED = datetime(2024, 10, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def triage() -> Triage:
    return make_triage()


def _reason(triage: Triage, raw: bytes) -> str:
    outcome = triage(Record(topics.POLICY, 0, 7, raw, None), RECEIVED)
    assert not isinstance(outcome, Accepted)
    assert isinstance(outcome, Rejected)
    return outcome.dead_letter.reason.value


@pytest.mark.parametrize(
    "occurred_at",
    [
        "9999-12-31T23:59:59+09:00",  # 10000-01-01 in Tokyo: no local date
        "9999-12-31T23:59:59.999999Z",
        "9999-12-31T20:00:00-05:00",
    ],
)
def test_a_timestamp_at_the_end_of_the_calendar_is_out_of_range(
    triage: Triage, occurred_at: str
) -> None:
    document = {**upstream_samples.POLICY, "agent_id": "A0001", "occurred_at": occurred_at}
    assert _reason(triage, json.dumps(document).encode()) == "out_of_range"


@pytest.mark.parametrize("field", ["event_id", "event_type", "premium"])
@pytest.mark.parametrize(("opener", "closer"), [("[", "]"), ('{"a":', "}")])
def test_deep_nesting_in_a_field_the_fast_reader_decodes_is_malformed_json(
    triage: Triage, field: str, opener: str, closer: str
) -> None:
    # These fields take several types, so msgspec descends into the value, past its depth.
    document = json.dumps({**upstream_samples.POLICY, "agent_id": "A0001", field: "HERE"})
    raw = document.replace('"HERE"', opener * 5_000 + "1" + closer * 5_000).encode()
    assert len(raw) < 64 * 1024
    assert _reason(triage, raw) == "malformed_json"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("issued_at", "0001-01-01T00:00:00Z"),
        ("issued_at", "1899-12-31"),
        ("issued_at", "9999-12-31T23:59:59+09:00"),
        ("due_date", "2200-01-01"),
        ("due_date", "9999-12-31"),
    ],
)
def test_a_policy_or_renewal_date_outside_1900_to_2199_is_out_of_range(
    triage: Triage, field: str, value: str
) -> None:
    # Accepted before, then failed in scoring on every try: it names periods by 4-digit years.
    base = {**upstream_samples.POLICY, "agent_id": "A0001"}
    if field == "issued_at":
        document = {**base, "action": "lapsed", "issued_at": value}
        topic = topics.POLICY
    else:
        document = {
            **{k: base[k] for k in ("source", "schema_version", "occurred_at", "agent_id")},
            "event_id": "ren-1",
            "event_type": "renewal",
            "source": "renewal-desk",
            "renewal_id": "R1",
            "policy_id": "P1",
            "action": "due",
            "due_date": value,
            "premium": "82000",
            "currency": "JPY",
            "channel": "face_to_face",
        }
        topic = topics.RENEWAL
    outcome = triage(Record(topic, 0, 7, json.dumps(document).encode(), None), RECEIVED)
    assert isinstance(outcome, Rejected)
    assert outcome.dead_letter.reason.value == "out_of_range"
    assert field in outcome.dead_letter.detail


def test_dates_at_the_bounds_are_accepted(triage: Triage) -> None:
    for issued_at in ("1900-01-01", "2024-09-30"):
        document = {
            **upstream_samples.POLICY,
            "agent_id": "A0001",
            "action": "lapsed",
            "issued_at": issued_at,
        }
        raw = json.dumps(document).encode()
        assert isinstance(triage(Record(topics.POLICY, 0, 7, raw, None), RECEIVED), Accepted)
