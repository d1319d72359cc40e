"""Triage under Hypothesis: a valid document with a field set to any JSON value, or mutated by
the hostile-input fuzzer's mutations (tests/support/hostile_corpus.py), always gives exactly
one outcome, never an exception, and a dead letter never carries a raw phone number. The same
corpus at scale, through the real services: tests/resilience/test_hostile_input.py."""

import base64
import json
import random
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.ingest.triage import Accepted, Record, Rejected, Triage
from shared import topics
from shared.events import RejectReason
from tests.support.bad_corpus import EVENT_TYPES, PHONES, valid_document
from tests.support.hostile_corpus import MUTATIONS
from tests.support.personal_data import phone_forms
from tests.support.unit_triage import make_triage

TRIAGE: Triage = make_triage()
RECEIVED = datetime(2024, 10, 1, tzinfo=UTC)
FORMS = phone_forms(PHONES)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(PHONES),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def _document(event_type: str, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    document = valid_document(event_type, seed, "A0001", "2024-09-30T10:00:00+09:00", "en", rng)
    if event_type == "survey":
        document["callback_phone"] = rng.choice(PHONES)
    return document


def _judge(event_type: str, raw: bytes) -> None:
    topic = topics.UPSTREAM_BY_EVENT_TYPE[event_type]
    outcome = TRIAGE(Record(topic, 0, 1, raw, None), RECEIVED)
    assert isinstance(outcome, Accepted | Rejected)
    if isinstance(outcome, Rejected):
        letter = outcome.dead_letter
        assert letter.reason in set(RejectReason) - {RejectReason.PROCESSING_ERROR}
        assert letter.detail
        payload = base64.b64decode(letter.payload_base64)
        assert [form for form in FORMS if form in payload] == []
        assert [form for form in FORMS if form in letter.detail.encode()] == []


@settings(max_examples=300, deadline=None)
@given(
    event_type=st.sampled_from(EVENT_TYPES),
    seed=st.integers(0, 10_000),
    field=st.text(max_size=12) | st.sampled_from(["occurred_at", "premium", "agent_id"]),
    value=JSON_VALUES,
)
def test_any_value_in_any_field_gives_one_outcome(
    event_type: str, seed: int, field: str, value: object
) -> None:
    document = _document(event_type, seed)
    document[field if field else "event_id"] = value
    _judge(event_type, json.dumps(document, allow_nan=True).encode())


@settings(max_examples=300, deadline=None)
@given(
    event_type=st.sampled_from(EVENT_TYPES),
    seed=st.integers(0, 10_000),
    mutations=st.lists(st.sampled_from(sorted(MUTATIONS)), min_size=1, max_size=2),
    rng=st.randoms(use_true_random=False),
)
def test_the_fuzzers_mutations_give_one_outcome(
    event_type: str, seed: int, mutations: list[str], rng: random.Random
) -> None:
    document = _document(event_type, seed)
    raw = b""
    for mutation in mutations:
        raw = MUTATIONS[mutation](document, rng)
    _judge(event_type, raw)
