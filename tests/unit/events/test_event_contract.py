"""Every validation rule of the v1 event contract (DESIGN §3, §9), for every event type.

Each rejection asserts the exact reason and the exact detail a publishing team reads in the
dead-letter topic, so a change of wording is a deliberate contract change.
"""

import json
import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Final

import pytest
from pydantic import ValidationError

from shared.events import (
    AssessmentEvent,
    ComplaintEvent,
    ContractViolation,
    PolicyEvent,
    RejectReason,
    RenewalEvent,
    SurveyEvent,
    TrainingEvent,
    UpstreamEvent,
    decode_upstream,
)

SCHEMA: Final = RejectReason.SCHEMA_VIOLATION
NAIVE: Final = RejectReason.NAIVE_TIMESTAMP
RANGE: Final = RejectReason.OUT_OF_RANGE
MALFORMED: Final = RejectReason.MALFORMED_JSON

# The patterns as the contract states them; restated here, not imported, on purpose.
ID_PATTERN: Final = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
EVENT_ID_PATTERN: Final = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
SOURCE_PATTERN: Final = "^[a-z][a-z0-9_.-]{0,63}$"
CODE_PATTERN: Final = "^[a-z][a-z0-9_]{0,63}$"
CURRENCY_PATTERN: Final = "^[A-Z]{3}$"
# A raw number, or the hash ingest made of it (a re-driven dead letter carries its phones hashed).
PHONE_PATTERN: Final = r"^(\+?[0-9][0-9 ()-]{5,24}|hmac-sha256:[0-9a-f]{64})$"
PERIOD_PATTERN: Final = r"^(\d{4}-(0[1-9]|1[0-2])|FY\d{4}(-H[12]|-Q[1-4])?)$"

CHANNELS: Final = "'face_to_face', 'online', 'phone', 'mail', 'bank' or 'other'"
SURVEY_CHANNELS: Final = (
    "'sms', 'email', 'web', 'app', 'phone', 'face_to_face', 'mail', 'paper' or 'other'"
)
OFFSET_HINT: Final = "send ISO 8601 with an offset, e.g. 2024-04-01T09:30:00+09:00"
TIMESTAMP_HINT: Final = (
    "expected an ISO 8601 timestamp string with an offset, e.g. 2024-04-01T09:30:00+09:00"
)
DATE_HINT: Final = "expected a date YYYY-MM-DD or an ISO 8601 timestamp with an offset"
ORG_KEY: Final = (
    "exactly one of agent_id or branch_id is required "
    "(agent_id for an agent's event, branch_id for a branch's own)"
)
DECIMAL_HINT: Final = "expected a decimal number, as a JSON number or string"
NOT_FINITE: Final = "must be a finite number; NaN and Infinity are not allowed"

DROP: Final = object()
"""An override value that removes the field from the payload."""

ENVELOPE: Final[dict[str, Any]] = {
    "event_id": "evt-0001",
    "occurred_at": "2024-04-01T09:30:00+09:00",
    "schema_version": 1,
    "agent_id": "A001",
}
VALID: Final[dict[str, dict[str, Any]]] = {
    "policy": {
        "event_type": "policy",
        "source": "policy-admin",
        "policy_id": "P0001",
        "customer_id": "C0001",
        "action": "issued",
        "product_line": "auto",
        "premium": Decimal("120000"),
        "currency": "JPY",
        "channel": "face_to_face",
        "new_business": True,
        "referral": False,
        "issued_at": "2024-04-01",
    },
    "renewal": {
        "event_type": "renewal",
        "source": "renewal-desk",
        "renewal_id": "RN0001",
        "policy_id": "P0001",
        "action": "due",
        "due_date": "2024-05-01",
        "premium": "98000.50",
        "currency": "JPY",
        "channel": "phone",
    },
    "complaint": {
        "event_type": "complaint",
        "source": "complaint-desk",
        "case_id": "CASE-1",
        "kind": "complaint",
        "action": "opened",
        "category": "claims_handling",
        "policy_id": "P0001",
    },
    "survey": {
        "event_type": "survey",
        "source": "survey-tool",
        "response_id": "SR0001",
        "policy_id": "P0001",
        "customer_id": "C0001",
        "scale": 10,
        "score": 9,
        "channel": "sms",
        "callback_phone": "+81 3-1234-5678",
        "agent_phone": "090-1234-5678",
    },
    "assessment": {
        "event_type": "assessment",
        "source": "hr-portal",
        "assessment_id": "AS-2024-001",
        "period": "FY2024-H1",
        "score": Decimal("85.5"),
        "assessor_id": "M01",
    },
    "training": {
        "event_type": "training",
        "source": "lms",
        "session_id": "TR-001",
        "course": "product_basics",
        "hours": "2.5",
    },
}
MODELS: Final[dict[str, type[UpstreamEvent]]] = {
    "policy": PolicyEvent,
    "renewal": RenewalEvent,
    "complaint": ComplaintEvent,
    "survey": SurveyEvent,
    "assessment": AssessmentEvent,
    "training": TrainingEvent,
}
EVENT_TYPES: Final = tuple(VALID)


def payload(event_type: str, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A valid payload of `event_type` with `changes` applied (DROP removes a field)."""
    document = {**ENVELOPE, **VALID[event_type]}
    for name, value in (changes or {}).items():
        if value is DROP:
            document.pop(name, None)
        else:
            document[name] = value
    return document


def _number_marker(value: object) -> str:
    if isinstance(value, Decimal):
        return f"\x00{value}\x00"
    raise TypeError(f"cannot encode {type(value).__name__}")


def encode(document: object) -> bytes:
    """JSON bytes in which every Decimal is written as a bare JSON number, digit for digit."""
    text = json.dumps(document, default=_number_marker, ensure_ascii=False)
    return re.sub(r'"\\u0000(.*?)\\u0000"', r"\1", text).encode("utf-8")


def rejection(raw: bytes) -> ContractViolation:
    with pytest.raises(ContractViolation) as caught:
        decode_upstream(raw)
    return caught.value


def assert_rejected(raw: bytes, reason: RejectReason, detail: str) -> None:
    violation = rejection(raw)
    assert violation.detail == detail
    assert violation.reason is reason
    assert str(violation) == f"{reason.value}: {detail}"


# --- valid events -------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_valid_payload_decodes_to_its_model(event_type: str) -> None:
    event = decode_upstream(encode(payload(event_type)))
    assert type(event) is MODELS[event_type]
    assert event.event_id == "evt-0001"
    assert event.occurred_at == datetime(2024, 4, 1, 0, 30, tzinfo=UTC)
    assert event.org_key == "agent:A001"


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_branch_event_without_agent_is_accepted(event_type: str) -> None:
    event = decode_upstream(encode(payload(event_type, {"agent_id": DROP, "branch_id": "B01"})))
    assert event.branch_id == "B01"
    assert event.agent_id is None
    assert event.org_key == "branch:B01"


OPTIONAL_FIELDS: Final = [
    ("policy", "new_business"),
    ("policy", "referral"),
    ("policy", "issued_at"),
    ("renewal", "currency"),
    ("complaint", "policy_id"),
    ("survey", "callback_phone"),
    ("survey", "agent_phone"),
    ("assessment", "assessor_id"),
]


@pytest.mark.parametrize(("event_type", "field"), OPTIONAL_FIELDS)
def test_optional_field_may_be_omitted(event_type: str, field: str) -> None:
    omitted = decode_upstream(encode(payload(event_type, {field: DROP})))
    # The flags default to false; every other optional field to null.
    assert getattr(omitted, field) is (False if field in {"new_business", "referral"} else None)


@pytest.mark.parametrize(
    ("event_type", "field"),
    [case for case in OPTIONAL_FIELDS if case[1] not in {"new_business", "referral"}],
)
def test_optional_field_may_be_null(event_type: str, field: str) -> None:
    assert getattr(decode_upstream(encode(payload(event_type, {field: None}))), field) is None


def test_null_boolean_is_rejected() -> None:
    assert_rejected(
        encode(payload("policy", {"referral": None})),
        SCHEMA,
        "referral: expected true or false (got null)",
    )


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_decoded_event_is_frozen(event_type: str) -> None:
    event = decode_upstream(encode(payload(event_type)))
    with pytest.raises(ValidationError, match="frozen"):
        event.event_id = "evt-other"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        event.agent_id = "A999"  # type: ignore[misc]
    assert event.event_id == "evt-0001"


# --- the envelope, for every event type ---------------------------------------------------

LONG_EVENT_ID: Final = "e" * 129
ENVELOPE_CASES: Final[list[Any]] = [
    pytest.param({"event_id": DROP}, SCHEMA, "event_id: field required", id="no-event_id"),
    pytest.param({"occurred_at": DROP}, SCHEMA, "occurred_at: field required", id="no-occurred_at"),
    pytest.param({"source": DROP}, SCHEMA, "source: field required", id="no-source"),
    pytest.param(
        {"schema_version": DROP}, SCHEMA, "schema_version: field required", id="no-version"
    ),
    pytest.param(
        {"colour": "red"},
        SCHEMA,
        "colour: unknown field (v1 has no such field; check the spelling)",
        id="unknown-field",
    ),
    pytest.param(
        {"Agent_ID": "A001"},
        SCHEMA,
        "Agent_ID: unknown field (v1 has no such field; check the spelling)",
        id="misspelt-field",
    ),
    pytest.param(
        {"occurred_at": "2024-04-01T09:30:00"},
        NAIVE,
        f"occurred_at: timestamp '2024-04-01T09:30:00' has no UTC offset; {OFFSET_HINT}",
        id="naive-occurred_at",
    ),
    pytest.param(
        {"occurred_at": "2024-04-01 09:30:00.250"},
        NAIVE,
        f"occurred_at: timestamp '2024-04-01 09:30:00.250' has no UTC offset; {OFFSET_HINT}",
        id="naive-occurred_at-space",
    ),
    pytest.param(
        {"occurred_at": "2024-04-01"},
        NAIVE,
        f"occurred_at: timestamp '2024-04-01' has no UTC offset; {OFFSET_HINT}",
        id="date-only-occurred_at",
    ),
    pytest.param(
        {"occurred_at": 1711931400},
        SCHEMA,
        f"occurred_at: {TIMESTAMP_HINT} (got 1711931400)",
        id="epoch-occurred_at",
    ),
    pytest.param(
        {"occurred_at": "yesterday"},
        SCHEMA,
        f"occurred_at: {TIMESTAMP_HINT} (got 'yesterday': input is too short)",
        id="unparseable-occurred_at",
    ),
    pytest.param(
        {"schema_version": 2},
        SCHEMA,
        "schema_version: 2 is not allowed; expected 1",
        id="version-2",
    ),
    pytest.param(
        {"schema_version": "1"},
        SCHEMA,
        "schema_version: '1' is not allowed; expected 1",
        id="version-as-string",
    ),
    pytest.param(
        {"schema_version": None},
        SCHEMA,
        "schema_version: null is not allowed; expected 1",
        id="version-null",
    ),
    pytest.param({"branch_id": "B01"}, SCHEMA, ORG_KEY, id="both-org-keys"),
    pytest.param({"agent_id": DROP}, SCHEMA, ORG_KEY, id="no-org-key"),
    pytest.param({"agent_id": None, "branch_id": None}, SCHEMA, ORG_KEY, id="null-org-keys"),
    pytest.param(
        {"agent_id": "A 001"},
        SCHEMA,
        f"agent_id: 'A 001' does not match the pattern {ID_PATTERN}",
        id="bad-agent_id",
    ),
    pytest.param(
        {"agent_id": DROP, "branch_id": "-B01"},
        SCHEMA,
        f"branch_id: '-B01' does not match the pattern {ID_PATTERN}",
        id="bad-branch_id",
    ),
    pytest.param(
        {"agent_id": 1001},
        SCHEMA,
        "agent_id: expected a JSON string (got 1001)",
        id="numeric-agent_id",
    ),
    pytest.param(
        {"event_id": "evt/1"},
        SCHEMA,
        f"event_id: 'evt/1' does not match the pattern {EVENT_ID_PATTERN}",
        id="bad-event_id",
    ),
    pytest.param(
        {"event_id": LONG_EVENT_ID},
        SCHEMA,
        # The echoed input is cut to 80 characters so a detail stays readable.
        f"event_id: '{'e' * 78}… does not match the pattern {EVENT_ID_PATTERN}",
        id="event_id-too-long",
    ),
    pytest.param(
        {"event_id": 1234},
        SCHEMA,
        "event_id: expected a JSON string (got 1234)",
        id="numeric-event_id",
    ),
    pytest.param(
        {"source": "Policy Admin"},
        SCHEMA,
        f"source: 'Policy Admin' does not match the pattern {SOURCE_PATTERN}",
        id="bad-source",
    ),
]


@pytest.mark.parametrize("event_type", EVENT_TYPES)
@pytest.mark.parametrize(("changes", "reason", "detail"), ENVELOPE_CASES)
def test_envelope_rule(
    event_type: str, changes: dict[str, Any], reason: RejectReason, detail: str
) -> None:
    assert_rejected(encode(payload(event_type, changes)), reason, detail)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_event_id_of_128_characters_is_accepted(event_type: str) -> None:
    event_id = "e" * 127 + ":"
    assert decode_upstream(encode(payload(event_type, {"event_id": event_id}))).event_id == (
        event_id
    )


@pytest.mark.parametrize("event_type", EVENT_TYPES)
@pytest.mark.parametrize(
    ("occurred_at", "utc"),
    [
        ("2024-04-01T09:30:00+09:00", datetime(2024, 4, 1, 0, 30, tzinfo=UTC)),
        ("2024-03-31T20:30:00-04:00", datetime(2024, 4, 1, 0, 30, tzinfo=UTC)),
        ("2024-04-01T00:30:00Z", datetime(2024, 4, 1, 0, 30, tzinfo=UTC)),
        ("2024-04-01 00:30:00.123456+00:00", datetime(2024, 4, 1, 0, 30, 0, 123456, tzinfo=UTC)),
    ],
)
def test_aware_occurred_at_keeps_its_instant(
    event_type: str, occurred_at: str, utc: datetime
) -> None:
    event = decode_upstream(encode(payload(event_type, {"occurred_at": occurred_at})))
    assert event.occurred_at == utc
    assert event.occurred_at.utcoffset() is not None


# --- required fields of each type ---------------------------------------------------------

REQUIRED_FIELDS: Final = [
    *(("policy", f) for f in ("policy_id", "customer_id", "action", "product_line")),
    *(("policy", f) for f in ("premium", "currency", "channel")),
    *(("renewal", f) for f in ("renewal_id", "policy_id", "action", "due_date")),
    *(("renewal", f) for f in ("premium", "channel")),
    *(("complaint", f) for f in ("case_id", "kind", "action", "category")),
    *(("survey", f) for f in ("response_id", "policy_id", "customer_id", "scale")),
    *(("survey", f) for f in ("score", "channel")),
    *(("assessment", f) for f in ("assessment_id", "period", "score")),
    *(("training", f) for f in ("session_id", "course", "hours")),
]


@pytest.mark.parametrize(("event_type", "field"), REQUIRED_FIELDS)
def test_required_field_missing(event_type: str, field: str) -> None:
    assert_rejected(encode(payload(event_type, {field: DROP})), SCHEMA, f"{field}: field required")


def test_every_missing_field_is_named_in_one_detail() -> None:
    assert_rejected(
        encode(payload("training", {"session_id": DROP, "hours": DROP})),
        SCHEMA,
        "session_id: field required; hours: field required",
    )


# --- field rules of each type -------------------------------------------------------------

TERMINATIONS: Final = ("lapsed", "surrendered", "cancelled", "reinstated")
TYPE_CASES: Final[list[Any]] = [
    # policy
    pytest.param(
        "policy",
        {"action": "sold"},
        SCHEMA,
        "action: 'sold' is not one of 'issued', 'renewed', 'lapsed', 'surrendered', "
        "'reinstated' or 'cancelled'",
        id="policy-action",
    ),
    pytest.param(
        "policy",
        {"channel": "fax"},
        SCHEMA,
        f"channel: 'fax' is not one of {CHANNELS}",
        id="policy-channel",
    ),
    pytest.param(
        "policy",
        {"channel": "Online"},
        SCHEMA,
        f"channel: 'Online' is not one of {CHANNELS}",
        id="policy-channel-case",
    ),
    pytest.param(
        "policy",
        {"product_line": "Auto"},
        SCHEMA,
        f"product_line: 'Auto' does not match the pattern {CODE_PATTERN}",
        id="policy-product_line",
    ),
    pytest.param(
        "policy",
        {"policy_id": "P 1"},
        SCHEMA,
        f"policy_id: 'P 1' does not match the pattern {ID_PATTERN}",
        id="policy-policy_id",
    ),
    pytest.param(
        "policy",
        {"customer_id": ""},
        SCHEMA,
        f"customer_id: '' does not match the pattern {ID_PATTERN}",
        id="policy-customer_id-empty",
    ),
    pytest.param(
        "policy",
        {"customer_id": "C" * 65},
        SCHEMA,
        f"customer_id: '{'C' * 65}' does not match the pattern {ID_PATTERN}",
        id="policy-customer_id-too-long",
    ),
    pytest.param(
        "policy",
        {"currency": "jpy"},
        SCHEMA,
        f"currency: 'jpy' does not match the pattern {CURRENCY_PATTERN}",
        id="policy-currency-lower",
    ),
    pytest.param(
        "policy",
        {"currency": "JP"},
        SCHEMA,
        f"currency: 'JP' does not match the pattern {CURRENCY_PATTERN}",
        id="policy-currency-short",
    ),
    pytest.param(
        "policy",
        {"currency": "JPYN"},
        SCHEMA,
        f"currency: 'JPYN' does not match the pattern {CURRENCY_PATTERN}",
        id="policy-currency-long",
    ),
    pytest.param(
        "policy",
        {"currency": 392},
        SCHEMA,
        "currency: expected a JSON string (got 392)",
        id="policy-currency-numeric",
    ),
    pytest.param(
        "policy",
        {"new_business": "maybe"},
        SCHEMA,
        "new_business: expected true or false (got 'maybe')",
        id="policy-new_business",
    ),
    pytest.param(
        "policy",
        {"premium": Decimal("-0.01")},
        RANGE,
        "premium: must be ≥ 0 (got -0.01)",
        id="policy-premium-negative-number",
    ),
    pytest.param(
        "policy",
        {"premium": "-1"},
        RANGE,
        "premium: must be ≥ 0 (got '-1')",
        id="policy-premium-negative-string",
    ),
    pytest.param(
        "policy",
        {"premium": "NaN"},
        SCHEMA,
        f"premium: {NOT_FINITE} (got 'NaN')",
        id="policy-premium-nan-string",
    ),
    pytest.param(
        "policy",
        {"premium": "Infinity"},
        SCHEMA,
        f"premium: {NOT_FINITE} (got 'Infinity')",
        id="policy-premium-infinity-string",
    ),
    pytest.param(
        "policy",
        {"premium": "-Infinity"},
        SCHEMA,
        f"premium: {NOT_FINITE} (got '-Infinity')",
        id="policy-premium-minus-infinity-string",
    ),
    pytest.param(
        "policy",
        {"premium": Decimal("1.23456")},
        SCHEMA,
        "premium: at most 4 decimal places (got 1.23456)",
        id="policy-premium-places-number",
    ),
    pytest.param(
        "policy",
        {"premium": "0.00001"},
        SCHEMA,
        "premium: at most 4 decimal places (got '0.00001')",
        id="policy-premium-places-string",
    ),
    pytest.param(
        "policy",
        {"premium": Decimal("1234567890123456789")},
        SCHEMA,
        "premium: at most 18 digits in total (got 1234567890123456789)",
        id="policy-premium-digits",
    ),
    pytest.param(
        "policy",
        {"premium": "123456789012345.1"},
        SCHEMA,
        "premium: at most 14 digits before the decimal point (got '123456789012345.1')",
        id="policy-premium-whole-digits",
    ),
    pytest.param(
        "policy",
        {"premium": "12,000"},
        SCHEMA,
        f"premium: {DECIMAL_HINT} (got '12,000')",
        id="policy-premium-not-a-number",
    ),
    pytest.param(
        "policy",
        {"premium": True},
        SCHEMA,
        f"premium: {DECIMAL_HINT} (got true)",
        id="policy-premium-boolean",
    ),
    pytest.param(
        "policy",
        {"premium": None},
        SCHEMA,
        f"premium: {DECIMAL_HINT} (got null)",
        id="policy-premium-null",
    ),
    pytest.param(
        "policy",
        {"premium": {"amount": Decimal(1)}},
        SCHEMA,
        f"premium: {DECIMAL_HINT} (got {{'amount': 1}})",
        id="policy-premium-object",
    ),
    pytest.param(
        "policy",
        {"action": "lapsed", "issued_at": "2020-04-01T10:00:00"},
        NAIVE,
        f"issued_at: timestamp '2020-04-01T10:00:00' has no UTC offset; {OFFSET_HINT}",
        id="policy-issued_at-naive",
    ),
    pytest.param(
        "policy",
        {"action": "lapsed", "issued_at": "2020-04-01 00:00:00"},
        NAIVE,
        f"issued_at: timestamp '2020-04-01 00:00:00' has no UTC offset; {OFFSET_HINT}",
        id="policy-issued_at-naive-midnight-space",
    ),
    pytest.param(
        "policy",
        {"action": "lapsed", "issued_at": "2020-02-30"},
        SCHEMA,
        f"issued_at: {DATE_HINT} (got '2020-02-30': day value is outside expected range)",
        id="policy-issued_at-no-such-day",
    ),
    pytest.param(
        "policy",
        {"action": "lapsed", "issued_at": 1585699200},
        SCHEMA,
        f"issued_at: {DATE_HINT} (got 1585699200)",
        id="policy-issued_at-epoch",
    ),
    *(
        pytest.param(
            "policy",
            {"action": action, "issued_at": DROP},
            SCHEMA,
            f"issued_at: required for action '{action}' (the policy's original issue date)",
            id=f"policy-{action}-needs-issued_at",
        )
        for action in TERMINATIONS
    ),
    pytest.param(
        "policy",
        {"action": "cancelled", "issued_at": None},
        SCHEMA,
        "issued_at: required for action 'cancelled' (the policy's original issue date)",
        id="policy-cancelled-null-issued_at",
    ),
    # renewal
    pytest.param(
        "renewal",
        {"action": "pending"},
        SCHEMA,
        "action: 'pending' is not one of 'due', 'contacted', 'renewed' or 'lost'",
        id="renewal-action",
    ),
    pytest.param(
        "renewal",
        {"channel": "fax"},
        SCHEMA,
        f"channel: 'fax' is not one of {CHANNELS}",
        id="renewal-channel",
    ),
    pytest.param(
        "renewal",
        {"renewal_id": "RN#1"},
        SCHEMA,
        f"renewal_id: 'RN#1' does not match the pattern {ID_PATTERN}",
        id="renewal-renewal_id",
    ),
    pytest.param(
        "renewal",
        {"currency": "yen"},
        SCHEMA,
        f"currency: 'yen' does not match the pattern {CURRENCY_PATTERN}",
        id="renewal-currency",
    ),
    pytest.param(
        "renewal",
        {"due_date": "2024-05-01T00:00:00"},
        NAIVE,
        f"due_date: timestamp '2024-05-01T00:00:00' has no UTC offset; {OFFSET_HINT}",
        id="renewal-due_date-naive",
    ),
    pytest.param(
        "renewal",
        {"due_date": "2024-05-01 00:00"},
        NAIVE,
        f"due_date: timestamp '2024-05-01 00:00' has no UTC offset; {OFFSET_HINT}",
        id="renewal-due_date-naive-space",
    ),
    pytest.param(
        "renewal",
        {"due_date": "01/05/2024"},
        SCHEMA,
        f"due_date: {DATE_HINT} (got '01/05/2024': invalid character in year)",
        id="renewal-due_date-format",
    ),
    pytest.param(
        "renewal",
        {"premium": Decimal("-5")},
        RANGE,
        "premium: must be ≥ 0 (got -5)",
        id="renewal-premium-negative",
    ),
    pytest.param(
        "renewal",
        {"premium": "NaN"},
        SCHEMA,
        f"premium: {NOT_FINITE} (got 'NaN')",
        id="renewal-premium-nan",
    ),
    pytest.param(
        "renewal",
        {"premium": Decimal("10.00001")},
        SCHEMA,
        "premium: at most 4 decimal places (got 10.00001)",
        id="renewal-premium-places",
    ),
    # complaint
    pytest.param(
        "complaint",
        {"kind": "praise"},
        SCHEMA,
        "kind: 'praise' is not one of 'complaint', 'compliment' or 'request'",
        id="complaint-kind",
    ),
    pytest.param(
        "complaint",
        {"action": "closed"},
        SCHEMA,
        "action: 'closed' is not one of 'opened', 'resolved' or 'escalated_to_regulator'",
        id="complaint-action",
    ),
    pytest.param(
        "complaint",
        {"category": "Claims Handling"},
        SCHEMA,
        f"category: 'Claims Handling' does not match the pattern {CODE_PATTERN}",
        id="complaint-category",
    ),
    pytest.param(
        "complaint",
        {"case_id": "case 1"},
        SCHEMA,
        f"case_id: 'case 1' does not match the pattern {ID_PATTERN}",
        id="complaint-case_id",
    ),
    pytest.param(
        "complaint",
        {"policy_id": "P#1"},
        SCHEMA,
        f"policy_id: 'P#1' does not match the pattern {ID_PATTERN}",
        id="complaint-policy_id",
    ),
    # survey
    pytest.param(
        "survey",
        {"scale": 7},
        SCHEMA,
        "scale: 7 is not allowed; expected 5, 10 or 100",
        id="survey-scale",
    ),
    pytest.param(
        "survey",
        {"scale": "10"},
        SCHEMA,
        "scale: '10' is not allowed; expected 5, 10 or 100",
        id="survey-scale-string",
    ),
    pytest.param(
        "survey",
        {"score": "NaN"},
        SCHEMA,
        f"score: {NOT_FINITE} (got 'NaN')",
        id="survey-score-nan",
    ),
    pytest.param(
        "survey",
        {"score": "nine"},
        SCHEMA,
        f"score: {DECIMAL_HINT} (got 'nine')",
        id="survey-score-word",
    ),
    pytest.param(
        "survey",
        {"score": Decimal("9.555")},
        SCHEMA,
        "score: at most 2 decimal places (got 9.555)",
        id="survey-score-places",
    ),
    pytest.param(
        "survey",
        {"channel": "fax"},
        SCHEMA,
        f"channel: 'fax' is not one of {SURVEY_CHANNELS}",
        id="survey-channel",
    ),
    pytest.param(
        "survey",
        {"response_id": "résumé"},
        SCHEMA,
        f"response_id: 'résumé' does not match the pattern {ID_PATTERN}",
        id="survey-response_id",
    ),
    pytest.param(
        "survey",
        {"callback_phone": "call me 555"},
        SCHEMA,
        # A phone number is personal data: the detail never echoes it.
        f"callback_phone: <phone number withheld> does not match the pattern {PHONE_PATTERN}",
        id="survey-callback_phone",
    ),
    pytest.param(
        "survey",
        {"agent_phone": 819012345678},
        SCHEMA,
        "agent_phone: expected a JSON string (got <phone number withheld>)",
        id="survey-agent_phone-number",
    ),
    # assessment
    pytest.param(
        "assessment",
        {"score": Decimal(-1)},
        RANGE,
        "score: must be ≥ 0 (got -1)",
        id="assessment-score-below",
    ),
    pytest.param(
        "assessment",
        {"score": Decimal("100.5")},
        RANGE,
        "score: must be ≤ 100 (got 100.5)",
        id="assessment-score-above",
    ),
    pytest.param(
        "assessment",
        {"score": "Infinity"},
        SCHEMA,
        f"score: {NOT_FINITE} (got 'Infinity')",
        id="assessment-score-infinity",
    ),
    pytest.param(
        "assessment",
        {"score": Decimal("99.999")},
        SCHEMA,
        "score: at most 2 decimal places (got 99.999)",
        id="assessment-score-places",
    ),
    pytest.param(
        "assessment",
        {"period": "2024-13"},
        SCHEMA,
        f"period: '2024-13' does not match the pattern {PERIOD_PATTERN}",
        id="assessment-period-month",
    ),
    pytest.param(
        "assessment",
        {"period": "FY24"},
        SCHEMA,
        f"period: 'FY24' does not match the pattern {PERIOD_PATTERN}",
        id="assessment-period-fy",
    ),
    pytest.param(
        "assessment",
        {"assessor_id": "M 01"},
        SCHEMA,
        f"assessor_id: 'M 01' does not match the pattern {ID_PATTERN}",
        id="assessment-assessor_id",
    ),
    # training
    pytest.param(
        "training",
        {"hours": Decimal(0)},
        RANGE,
        "hours: must be > 0 (got 0)",
        id="training-hours-zero",
    ),
    pytest.param(
        "training",
        {"hours": "-1.5"},
        RANGE,
        "hours: must be > 0 (got '-1.5')",
        id="training-hours-negative",
    ),
    pytest.param(
        "training",
        {"hours": Decimal("24.01")},
        RANGE,
        "hours: must be ≤ 24 (got 24.01)",
        id="training-hours-above-a-day",
    ),
    pytest.param(
        "training",
        {"hours": "NaN"},
        SCHEMA,
        f"hours: {NOT_FINITE} (got 'NaN')",
        id="training-hours-nan",
    ),
    pytest.param(
        "training",
        {"hours": Decimal("1.005")},
        SCHEMA,
        "hours: at most 2 decimal places (got 1.005)",
        id="training-hours-places",
    ),
    pytest.param(
        "training",
        {"course": "Product Basics"},
        SCHEMA,
        f"course: 'Product Basics' does not match the pattern {CODE_PATTERN}",
        id="training-course",
    ),
    pytest.param(
        "training",
        {"session_id": "_TR"},
        SCHEMA,
        f"session_id: '_TR' does not match the pattern {ID_PATTERN}",
        id="training-session_id",
    ),
]


@pytest.mark.parametrize(("event_type", "changes", "reason", "detail"), TYPE_CASES)
def test_field_rule(
    event_type: str, changes: dict[str, Any], reason: RejectReason, detail: str
) -> None:
    assert_rejected(encode(payload(event_type, changes)), reason, detail)


# --- money --------------------------------------------------------------------------------


def test_premium_as_json_number_is_exact() -> None:
    raw = encode(payload("policy", {"premium": Decimal("12345678901234.5678")}))
    assert b'"premium": 12345678901234.5678' in raw  # a bare JSON number, not a string
    event = decode_upstream(raw)
    assert isinstance(event, PolicyEvent)
    assert event.premium == Decimal("12345678901234.5678")
    assert str(event.premium) == "12345678901234.5678"


@pytest.mark.parametrize("event_type", ["policy", "renewal"])
@pytest.mark.parametrize(
    "premium",
    [
        "12345678901234.5678",
        Decimal("12345678901234.5678"),
        "0",
        Decimal(0),
        "0.0001",
        Decimal("99999999999999.9999"),
        "1E+3",
    ],
)
def test_premium_as_string_or_number_is_accepted_exactly(
    event_type: str, premium: str | Decimal
) -> None:
    event = decode_upstream(encode(payload(event_type, {"premium": premium})))
    assert isinstance(event, PolicyEvent | RenewalEvent)
    assert isinstance(event.premium, Decimal)
    assert event.premium == Decimal(premium)
    assert event.premium.as_tuple() == Decimal(premium).as_tuple()


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("event_type", ["policy", "renewal"])
def test_premium_nan_or_infinity_literal_is_malformed_json(event_type: str, literal: str) -> None:
    raw = encode(payload(event_type, {"premium": Decimal(1)})).replace(
        b'"premium": 1', f'"premium": {literal}'.encode()
    )
    assert_rejected(raw, MALFORMED, f"not valid JSON: {literal} is not a number JSON allows")


# --- dates and timestamps -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2020-04-01", date(2020, 4, 1)),
        # An aware timestamp counts on its own local date, not the UTC one.
        ("2020-04-01T00:30:00+09:00", date(2020, 4, 1)),
        ("2020-04-01T23:30:00-05:00", date(2020, 4, 1)),
        ("2020-04-01T12:00:00Z", date(2020, 4, 1)),
    ],
)
def test_date_or_timestamp_fields_take_the_local_date(value: str, expected: date) -> None:
    policy = decode_upstream(encode(payload("policy", {"action": "lapsed", "issued_at": value})))
    renewal = decode_upstream(encode(payload("renewal", {"due_date": value})))
    assert isinstance(policy, PolicyEvent)
    assert isinstance(renewal, RenewalEvent)
    assert policy.issued_at == expected
    assert renewal.due_date == expected


@pytest.mark.parametrize("action", ["issued", "renewed"])
def test_issued_at_is_optional_for_new_and_renewed_policies(action: str) -> None:
    event = decode_upstream(encode(payload("policy", {"action": action, "issued_at": DROP})))
    assert isinstance(event, PolicyEvent)
    assert event.issued_at is None


@pytest.mark.parametrize("action", TERMINATIONS)
def test_terminations_with_issue_date_are_accepted(action: str) -> None:
    event = decode_upstream(
        encode(payload("policy", {"action": action, "issued_at": "2019-04-01"}))
    )
    assert isinstance(event, PolicyEvent)
    assert event.issued_at == date(2019, 4, 1)


# --- scores and hours: boundaries are inclusive ------------------------------------------


@pytest.mark.parametrize(
    ("scale", "score"),
    [
        (10, Decimal(0)),
        (10, Decimal(10)),
        (10, "9.5"),
        (5, Decimal(1)),
        (5, Decimal(5)),
        (5, "4.25"),
        (100, Decimal(0)),
        (100, Decimal(100)),
        (100, "100.00"),
    ],
)
def test_survey_score_within_its_scale_is_accepted(scale: int, score: str | Decimal) -> None:
    event = decode_upstream(encode(payload("survey", {"scale": scale, "score": score})))
    assert isinstance(event, SurveyEvent)
    assert event.scale == scale
    assert event.score == Decimal(score)


@pytest.mark.parametrize(
    ("scale", "score", "shown", "low", "high"),
    [
        (10, Decimal(-1), "-1", "0", "10"),
        (10, Decimal("10.01"), "10.01", "0", "10"),
        (10, "11", "11", "0", "10"),
        (5, Decimal(0), "0", "1", "5"),
        (5, Decimal("0.99"), "0.99", "1", "5"),
        (5, Decimal("5.5"), "5.5", "1", "5"),
        (5, Decimal(10), "10", "1", "5"),
        (100, Decimal("-0.01"), "-0.01", "0", "100"),
        (100, Decimal("100.01"), "100.01", "0", "100"),
    ],
)
def test_survey_score_outside_its_scale_is_out_of_range(
    scale: int, score: str | Decimal, shown: str, low: str, high: str
) -> None:
    assert_rejected(
        encode(payload("survey", {"scale": scale, "score": score})),
        RANGE,
        f"score: {shown} is outside the {low}–{high} range of scale {scale}",
    )


@pytest.mark.parametrize("score", [Decimal(0), Decimal(100), "0", "100.00", Decimal("55.25")])
def test_assessment_score_0_to_100_is_accepted(score: str | Decimal) -> None:
    event = decode_upstream(encode(payload("assessment", {"score": score})))
    assert isinstance(event, AssessmentEvent)
    assert event.score == Decimal(score)


@pytest.mark.parametrize("hours", [Decimal("0.01"), Decimal(1), Decimal(24), "24.00", "0.25"])
def test_training_hours_above_0_up_to_24_are_accepted(hours: str | Decimal) -> None:
    event = decode_upstream(encode(payload("training", {"hours": hours})))
    assert isinstance(event, TrainingEvent)
    assert event.hours == Decimal(hours)


# --- several errors in one message --------------------------------------------------------


def test_naive_timestamp_with_range_error_is_reported_as_naive_and_lists_both() -> None:
    assert_rejected(
        encode(payload("policy", {"occurred_at": "2024-04-01T09:30:00", "premium": "-1"})),
        NAIVE,
        f"occurred_at: timestamp '2024-04-01T09:30:00' has no UTC offset; {OFFSET_HINT}; "
        "premium: must be ≥ 0 (got '-1')",
    )


def test_naive_timestamp_with_schema_error_is_a_schema_violation() -> None:
    assert_rejected(
        encode(payload("survey", {"occurred_at": "2024-04-01T09:30:00", "colour": "red"})),
        SCHEMA,
        f"occurred_at: timestamp '2024-04-01T09:30:00' has no UTC offset; {OFFSET_HINT}; "
        "colour: unknown field (v1 has no such field; check the spelling)",
    )


# --- the message as a whole ---------------------------------------------------------------

KNOWN_TYPES: Final = "policy, renewal, complaint, survey, assessment, training"
MESSAGE_CASES: Final[list[Any]] = [
    pytest.param(
        b'{"event_type": "policy",',
        MALFORMED,
        "not valid JSON: Expecting property name enclosed in double quotes: "
        "line 1 column 25 (char 24)",
        id="truncated-json",
    ),
    pytest.param(
        b"",
        RejectReason.EMPTY_VALUE,
        "the record has no value (empty, or a null tombstone); an event is a JSON object",
        id="empty",
    ),
    pytest.param(
        b"{'event_type': 'policy'}",
        MALFORMED,
        "not valid JSON: Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)",
        id="single-quotes",
    ),
    pytest.param(
        b'{"event_type": "survey", "score": NaN}',
        MALFORMED,
        "not valid JSON: NaN is not a number JSON allows",
        id="nan-literal",
    ),
    pytest.param(
        b'{"event_type": "policy", "customer": "\xff"}',
        MALFORMED,
        "not UTF-8: invalid byte at position 38",
        id="invalid-utf8",
    ),
    pytest.param(
        "{}".encode("utf-16"), MALFORMED, "not UTF-8: invalid byte at position 0", id="utf16"
    ),
    pytest.param(b"[]", MALFORMED, "an event is a JSON object; got a JSON array", id="array"),
    pytest.param(b"12.5", MALFORMED, "an event is a JSON object; got a JSON number", id="number"),
    pytest.param(
        b'"policy"', MALFORMED, "an event is a JSON object; got a JSON string", id="string"
    ),
    pytest.param(b"null", MALFORMED, "an event is a JSON object; got a JSON null", id="null"),
    pytest.param(b"true", MALFORMED, "an event is a JSON object; got a JSON boolean", id="boolean"),
    pytest.param(b"{}", SCHEMA, "event_type: field required", id="empty-object"),
    pytest.param(
        b'{"event_type": null}', SCHEMA, "event_type: field required", id="null-event_type"
    ),
    pytest.param(
        b'{"event_type": "claim"}',
        RejectReason.UNKNOWN_EVENT_TYPE,
        f"event_type 'claim' is not one of {KNOWN_TYPES}",
        id="unknown-event_type",
    ),
    pytest.param(
        b'{"event_type": "Policy"}',
        RejectReason.UNKNOWN_EVENT_TYPE,
        f"event_type 'Policy' is not one of {KNOWN_TYPES}",
        id="event_type-case",
    ),
    pytest.param(
        b'{"event_type": 1.5}',
        RejectReason.UNKNOWN_EVENT_TYPE,
        f"event_type 1.5 is not one of {KNOWN_TYPES}",
        id="numeric-event_type",
    ),
    pytest.param(
        b'{"event_type": ["policy"]}',
        RejectReason.UNKNOWN_EVENT_TYPE,
        f"event_type ['policy'] is not one of {KNOWN_TYPES}",
        id="array-event_type",
    ),
]


@pytest.mark.parametrize(("raw", "reason", "detail"), MESSAGE_CASES)
def test_message_rule(raw: bytes, reason: RejectReason, detail: str) -> None:
    assert_rejected(raw, reason, detail)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_missing_event_type_on_a_full_payload(event_type: str) -> None:
    assert_rejected(
        encode(payload(event_type, {"event_type": DROP})), SCHEMA, "event_type: field required"
    )


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_event_type_of_another_model_is_checked_against_that_model(event_type: str) -> None:
    other = "training" if event_type != "training" else "policy"
    violation = rejection(encode(payload(event_type, {"event_type": other})))
    assert violation.reason is SCHEMA
    assert "unknown field (v1 has no such field; check the spelling)" in violation.detail


def test_deeply_nested_json_is_rejected_not_a_crash() -> None:
    # 60 KiB of brackets would exhaust the parser's stack; the partition must not stop.
    depth = 30_000
    assert_rejected(
        b"[" * depth + b"]" * depth,
        MALFORMED,
        "not valid JSON: arrays or objects nested too deeply",
    )


def test_nested_input_is_echoed_briefly() -> None:
    nested: Any = Decimal(1)
    for _ in range(100):
        nested = [nested]
    long_list = [Decimal(n) for n in range(50)]
    assert_rejected(
        encode(payload("policy", {"premium": nested, "currency": long_list})),
        SCHEMA,
        f"premium: {DECIMAL_HINT} (got [[[[…]]]]); "
        "currency: expected a JSON string (got [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, …])",
    )


def _padded(size: int) -> bytes:
    raw = encode(payload("policy"))
    return raw[:-1] + b" " * (size - len(raw)) + b"}"


def test_message_at_the_size_limit_is_accepted() -> None:
    raw = _padded(65_536)
    assert len(raw) == 65_536
    assert isinstance(decode_upstream(raw), PolicyEvent)


def test_oversize_message_is_too_large() -> None:
    assert_rejected(
        _padded(65_537), RejectReason.TOO_LARGE, "message is 65,537 bytes; the limit is 65,536"
    )


def test_size_limit_is_checked_before_parsing() -> None:
    assert_rejected(
        b"\xff" * 2_000_000,
        RejectReason.TOO_LARGE,
        "message is 2,000,000 bytes; the limit is 65,536",
    )


def test_size_limit_can_be_lowered() -> None:
    raw = encode(payload("complaint"))
    with pytest.raises(ContractViolation) as caught:
        decode_upstream(raw, max_bytes=100)
    assert caught.value.reason is RejectReason.TOO_LARGE
    assert caught.value.detail == f"message is {len(raw):,} bytes; the limit is 100"


def test_offsets_other_than_whole_hours_are_kept() -> None:
    event = decode_upstream(encode(payload("survey", {"occurred_at": "2024-04-01T09:30:00+05:45"})))
    assert event.occurred_at.utcoffset() == timedelta(hours=5, minutes=45)
    assert event.occurred_at == datetime(2024, 4, 1, 9, 30, tzinfo=timezone(timedelta(hours=5.75)))


@pytest.mark.parametrize("flag", ["new_business", "referral"])
@pytest.mark.parametrize("value", ["yes", "true", 1, 0])
def test_policy_flags_are_json_booleans_only(flag: str, value: object) -> None:
    shown = f"'{value}'" if isinstance(value, str) else str(value)
    assert_rejected(
        encode(payload("policy", {flag: value})),
        RejectReason.SCHEMA_VIOLATION,
        f"{flag}: expected true or false (got {shown})",
    )
