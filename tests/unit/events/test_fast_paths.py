"""The msgspec fast paths beside the pydantic contract agree with it (shared/events/fast_*.py).

- Triage with the fast path and triage through the models alone give every record the same
  outcome: the same canonical event, byte for byte, or the same dead letter (reason, detail,
  payload), over the bad corpus and over generated mutations of valid documents.
- Whatever the fast reader accepts, the models accept too, with the same values.
- The fast reader takes every valid message of the corpus itself (else it would not be fast).
- `decode_kpi_event` reads every canonical event as `KpiEvent.model_validate_json` reads it,
  whatever the model reads it reads the same, and a record that is not a canonical event
  (garbage, a wrong shape or type, a broken rule between fields) is refused by both. It trusts
  ingest for the patterns and bounds of single fields: that boundary is a test too.
"""

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.ingest.triage import Accepted, Outcome, Record, Rejected, Triage
from shared import topics
from shared.events import ContractViolation, KpiEvent, parse_document, validate_document
from shared.events.canonical_reader import decode_kpi_event
from shared.events.fast_canonical import CanonicalDocument
from shared.events.fast_upstream import read_upstream
from tests.support.bad_corpus import DEFAULT_START, bad_messages, good_messages
from tests.support.unit_triage import make_triage

FAST: Final = make_triage()


class ModelsOnly(Triage):
    """Triage as it was before the fast path: every record through the pydantic models."""

    def _fast(self, record: Record, received_at: datetime) -> Accepted | None:
        return None


SLOW: Final = ModelsOnly(
    codebook=FAST._codebook,
    org=FAST._org,
    hasher=FAST._hasher,
    calendar=FAST._calendar,
    gate=FAST._gate,
    max_bytes=FAST._max_bytes,
)
# Agents with a team on every day the corpus covers.
AGENTS: Final = [
    path.agent
    for path in FAST._org.chart.agents_on(DEFAULT_START.date())
    if path.agent is not None
    and FAST._org.chart.resolve(path.agent, (DEFAULT_START + timedelta(days=2)).date())
]
RECEIVED: Final = DEFAULT_START + timedelta(days=2)
STAMP: Final = datetime(2024, 4, 1, 3, 4, 5, 600, tzinfo=UTC)
GOOD: Final = list(good_messages(600, AGENTS, DEFAULT_START))
TOPIC_OF: Final = {
    "policy": topics.POLICY,
    "renewal": topics.RENEWAL,
    "complaint": topics.COMPLAINT,
    "survey": topics.SURVEY,
    "assessment": topics.ASSESSMENT,
    "training": topics.TRAINING,
}


def _topic(raw: bytes) -> str:
    try:
        kind = json.loads(raw).get("event_type")
    except (ValueError, AttributeError, RecursionError):
        return topics.POLICY
    return TOPIC_OF.get(kind, topics.POLICY) if isinstance(kind, str) else topics.POLICY


def _outcome(triage: Triage, record: Record) -> Outcome | type[Exception]:
    """The outcome, or the kind of error triage raised (the pipeline makes it a
    processing_error dead letter)."""
    try:
        return triage(record, RECEIVED)
    except Exception as exc:
        return type(exc)


def assert_same_outcome(raw: bytes, topic: str | None = None) -> Outcome | type[Exception]:
    record = Record(topic or _topic(raw), 2, 77, raw, 1_711_930_000_123)
    fast, slow = _outcome(FAST, record), _outcome(SLOW, record)
    if isinstance(fast, type) or isinstance(slow, type):
        assert fast == slow
        return fast
    assert type(fast) is type(slow), (fast, slow)
    if isinstance(fast, Accepted):
        assert isinstance(slow, Accepted)
        for stamp in (None, STAMP):
            assert fast.canonical.encode(stamp) == slow.canonical.encode(stamp)
        model = slow.canonical.model()
        assert slow.canonical.encode(STAMP) == (
            model.model_copy(update={"watermark": STAMP}).model_dump_json().encode()
        )
        assert fast.canonical.key == model.key
        assert fast.canonical.occurred_at == model.event.occurred_at
        assert fast.canonical.event_type == model.event.event_type
    else:
        assert isinstance(slow, Rejected)
        assert fast.dead_letter == slow.dead_letter
        assert fast.event_type == slow.event_type
    return fast


def test_the_fast_reader_takes_every_valid_message_of_the_corpus() -> None:
    for raw in GOOD:
        record = Record(_topic(raw), 0, 1, raw, None)
        assert FAST._fast(record, RECEIVED) is not None, raw


def test_the_corpus_gets_the_same_outcomes() -> None:
    for raw in GOOD:
        assert isinstance(assert_same_outcome(raw), Accepted)
    for bad in bad_messages(AGENTS, DEFAULT_START - timedelta(days=400)):
        assert_same_outcome(bad.raw)


def test_a_record_on_the_wrong_topic_gets_the_same_outcome() -> None:
    assert isinstance(assert_same_outcome(GOOD[0], topics.SURVEY), Rejected)


# -- generated mutations of valid documents ---------------------------------------------------

TRICKY: Final[list[object]] = [
    None,
    True,
    False,
    0,
    -1,
    5,
    10,
    100,
    101,
    10**20,
    Decimal("1.5"),
    Decimal("0.00001"),
    Decimal("-0.0"),
    Decimal("1E+3"),
    Decimal("12345678901234.5678"),
    Decimal("123456789012345.678"),
    "",
    " ",
    "x",
    "A0001",
    "A0001\n",
    " A0001",
    "a" * 65,
    "JPY",
    "jpy",
    "0",
    "-0",
    "00",
    "1.50",
    "1.505",
    "1e3",
    "NaN",
    "12,000",
    "１２",
    "face-to-face",
    "対面",
    "online",
    "bank",
    "issued",
    "lapsed",
    "due",
    "compliment",
    "web",
    "2024-04-01",
    "2024-02-30",
    "2024-04-01T09:00:00",
    "2024-04-01T09:00:00+09:00",
    "2024-04-01T09:00:00.1234+09:00",
    "2024-04-01T09:00:00.1234567+09:00",
    "2024-04-01 09:00:00+09:00",
    "2024-04-01T09:00:00Z",
    "2024-04-01T09:00:00z",
    "2024-04-01T09:00:00+24:00",
    "2024-04-01T09:00:00-00:00",
    "2024-04-01T09:00+09:00",
    "2024-04-01T09:00:00+0900",
    "9999-12-31T23:00:00-05:00",
    "0001-01-01T00:00:00+09:00",
    "2024-03",
    "FY2023-H1",
    "+81 90 1234 5678",
    "090-1234-5678",
    "hmac-sha256:" + "a" * 64,
    [],
    {},
    ["issued"],
    {"a": 1},
]
FIELDS: Final = sorted(
    {
        "event_id",
        "event_type",
        "occurred_at",
        "source",
        "schema_version",
        "agent_id",
        "branch_id",
        "policy_id",
        "customer_id",
        "action",
        "product_line",
        "premium",
        "currency",
        "channel",
        "new_business",
        "referral",
        "issued_at",
        "renewal_id",
        "due_date",
        "case_id",
        "kind",
        "category",
        "response_id",
        "scale",
        "score",
        "callback_phone",
        "agent_phone",
        "assessment_id",
        "period",
        "assessor_id",
        "session_id",
        "course",
        "hours",
        "unknown_field",
    }
)

Mutation = Callable[[dict[str, Any]], None]


def _setter(field: str, value: object) -> Mutation:
    return lambda document: document.__setitem__(field, value)


def _dropper(field: str) -> Mutation:
    return lambda document: document.pop(field, None)


mutations = st.one_of(
    st.builds(_setter, st.sampled_from(FIELDS), st.sampled_from(TRICKY)),
    st.builds(_dropper, st.sampled_from(FIELDS)),
)


_NUMBER: Final = "\u0000number:"


def _json(value: object) -> object:
    # A Decimal is written as a JSON number of exactly its digits (json would write a float).
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    return f"{_NUMBER}{value}" if isinstance(value, Decimal) else value


def _encode(document: dict[str, Any], ascii_only: bool) -> bytes:
    text = json.dumps({k: _json(v) for k, v in document.items()}, ensure_ascii=ascii_only)
    marker = json.dumps(_NUMBER, ensure_ascii=ascii_only)[:-1]
    while marker in text:
        start = text.index(marker)
        end = text.index('"', start + len(marker))
        text = text[:start] + text[start + len(marker) : end] + text[end + 1 :]
    return text.encode()


def _mutated(index: int, changes: list[Mutation], ascii_only: bool) -> bytes:
    document = json.loads(GOOD[index], parse_float=Decimal)
    for change in changes:
        change(document)
    return _encode(document, ascii_only)


documents = st.builds(
    _mutated,
    st.integers(min_value=0, max_value=len(GOOD) - 1),
    st.lists(mutations, max_size=3),
    st.booleans(),
)


@settings(max_examples=1_500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=documents)
def test_fast_and_models_give_every_mutated_record_the_same_outcome(raw: bytes) -> None:
    assert_same_outcome(raw)


def _same_code(event_type: str, field: str, value: str) -> str:
    return value


@settings(max_examples=1_500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=documents)
@example(raw=b'{"event_id": "e1", "event_type": "training", "occurred_at": "2024-04-01T09:00:00Z"}')
def test_what_the_fast_reader_accepts_the_models_accept_with_the_same_values(raw: bytes) -> None:
    fast = read_upstream(raw, _same_code)
    if fast is None:
        return
    model = validate_document(parse_document(raw))
    values = model.model_dump()
    assert list(values) == list(fast.fields)
    assert values == fast.fields
    assert model.occurred_at.utcoffset() == fast.occurred_at.utcoffset()
    for name, value in values.items():
        assert type(value) is type(fast.fields[name]) or name == "occurred_at", name


# -- kpi.events.v1 for scoring ---------------------------------------------------------------


def _canonical(index: int) -> bytes:
    outcome = FAST(Record(_topic(GOOD[index]), 1, index, GOOD[index], None), RECEIVED)
    assert isinstance(outcome, Accepted)
    return outcome.canonical.encode(STAMP if index % 2 else None)


CANONICAL: Final = [_canonical(i) for i in range(len(GOOD))]


def _model(raw: bytes) -> KpiEvent | None:
    try:
        return KpiEvent.model_validate_json(raw)
    except ValidationError:
        return None


def _same_event(fast: KpiEvent, model: KpiEvent) -> None:
    assert fast == model
    assert fast.model_dump_json() == model.model_dump_json()
    assert type(fast.event) is type(model.event)
    for name, value in model.event.model_dump().items():
        assert type(value) is type(getattr(fast.event, name)) or name == "occurred_at", name
        assert getattr(fast.event, name) == value


def _agree(raw: bytes) -> KpiEvent | None:
    """What the model reads, the fast reader reads the same; what the model refuses, the fast
    reader refuses too unless only a single field's pattern or bounds is broken."""
    try:
        model = _model(raw)
    except OverflowError:  # a timestamp at the calendar's edge: the model raises, so must it
        with pytest.raises(OverflowError):
            decode_kpi_event(raw)
        return None
    fast = decode_kpi_event(raw)
    if model is not None:
        assert fast is not None, raw
        _same_event(fast, model)
    return fast


def test_every_canonical_event_reads_as_the_model_reads_it() -> None:
    for raw in CANONICAL:
        fast, model = _agree(raw), _model(raw)
        assert fast is not None
        assert model is not None
        # Ingest writes every field, so every field was set, as the model reads it.
        assert fast.model_fields_set == model.model_fields_set
        assert fast.event.model_fields_set == model.event.model_fields_set


canonical_mutations = st.one_of(
    st.builds(
        _setter,
        st.sampled_from(
            [
                "key",
                "occurred_at_offset",
                "callback_phone_hash",
                "agent_phone_hash",
                "received_at",
                "source_topic",
                "source_partition",
                "source_offset",
                "source_timestamp",
                "watermark",
                "schema_version",
                "unknown_field",
            ]
        ),
        st.sampled_from(TRICKY),
    ),
    st.builds(_dropper, st.sampled_from(["key", "org", "event", "received_at", "watermark"])),
)


@settings(max_examples=1_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(min_value=0, max_value=len(GOOD) - 1),
    outer=st.lists(canonical_mutations, max_size=2),
    inner=st.lists(mutations, max_size=2),
    org=st.sampled_from(
        [None, {"company": "ACME"}, {"agent": None}, {"team": None}, {"agent": "A9999"}]
    ),
)
def test_a_mutated_canonical_event_reads_as_the_model_reads_it(
    index: int, outer: list[Mutation], inner: list[Mutation], org: dict[str, Any] | None
) -> None:
    document = json.loads(CANONICAL[index], parse_float=Decimal)
    for change in outer:
        change(document)
    if isinstance(document.get("event"), dict):
        for change in inner:
            change(document["event"])
    if org is not None and isinstance(document.get("org"), dict):
        document["org"].update(org)
    _agree(_encode(document, ascii_only=False))


@settings(max_examples=500, deadline=None)
@given(raw=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
def test_garbage_is_refused_by_both(raw: bytes) -> None:
    assert _agree(raw) is None
    assert _model(raw) is None


@pytest.mark.parametrize("raw", [b"", b"null", b"{}", b"[]", b'{"key": "a:b"}', b"\xff"])
def test_records_that_are_no_event_are_none(raw: bytes) -> None:
    assert _agree(raw) is None


SHAPE: Final[list[tuple[str, object]]] = [
    ("key", None),
    ("key", 7),
    ("event", "policy"),
    ("event", {}),
    ("org", None),
    ("org", {"company": "ACME"}),
    ("received_at", "2024-04-01T09:00:00"),
    ("received_at", "yesterday"),
    ("source_partition", -1),
    ("source_offset", "seven"),
    ("watermark", "soon"),
    ("schema_version", 2),
    ("unknown_field", 1),
]
RULES: Final[list[tuple[str, object]]] = [
    ("key", "policy-admin:another-event"),
    ("org", {"company": "ACME", "region": "R1", "branch": "B01"}),
]


@pytest.mark.parametrize(("field", "value"), SHAPE + RULES)
@pytest.mark.parametrize("index", [0, 1, 3])
def test_a_broken_shape_type_or_rule_is_refused_by_both(
    index: int, field: str, value: object
) -> None:
    document = json.loads(CANONICAL[index])
    document[field] = value
    raw = json.dumps(document).encode()
    assert _model(raw) is None
    assert decode_kpi_event(raw) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("occurred_at", "2024-04-01T09:00:00+09:00"), ("callback_phone", "+81 90 1234 5678")],
)
def test_a_broken_rule_inside_the_event_is_refused_by_both(field: str, value: object) -> None:
    document = json.loads(CANONICAL[3])
    assert document["event"]["event_type"] == "survey"
    document["event"][field] = value
    raw = json.dumps(document).encode()
    assert _model(raw) is None
    assert decode_kpi_event(raw) is None


def test_the_fast_reader_trusts_ingest_for_single_field_patterns() -> None:
    document = json.loads(CANONICAL[0])
    document["event"]["policy_id"] = "not an identifier!"
    raw = json.dumps(document).encode()

    assert _model(raw) is None
    fast = decode_kpi_event(raw)
    assert fast is not None
    assert getattr(fast.event, "policy_id", None) == "not an identifier!"


def test_the_document_of_a_model_writes_as_the_model() -> None:
    model = KpiEvent.model_validate_json(CANONICAL[1])
    assert CanonicalDocument.of(model).encode(model.watermark) == model.model_dump_json().encode()


def test_a_phone_the_hasher_refuses_is_the_models_rejection() -> None:
    document = json.loads(GOOD[3])
    assert document["event_type"] == "survey"
    document["callback_phone"] = "+0 12345678"
    outcome = assert_same_outcome(json.dumps(document).encode())
    assert isinstance(outcome, Rejected)


def _random_valid_survey(seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    document: dict[str, Any] = json.loads(GOOD[3])
    document["score"] = rng.choice(["9.5", 10, "0", 7])
    return document


def test_a_contract_violation_is_never_raised_by_the_fast_reader() -> None:
    for seed in range(20):
        raw = json.dumps(_random_valid_survey(seed)).encode()
        try:
            read_upstream(raw, _same_code)
        except ContractViolation:  # pragma: no cover - the point of the test
            pytest.fail("the fast reader raised; it must answer None instead")
