"""The test corpora: every bad message gets the reason it promises, every good one passes.

The outcome is computed the way ingest computes it: size and JSON first, then the code book,
then validation, then the org chart and the lateness rule (here: at or before TOO_LATE_AT).
"""

import json
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Final

import pytest

from services.ingest.normalise import CodeBook, load_codebook
from shared.events import (
    MAX_MESSAGE_BYTES,
    ContractViolation,
    RejectReason,
    SurveyEvent,
    UpstreamEvent,
    decode_upstream,
    validate_document,
)
from tests.support.bad_corpus import WORDS, BadMessage, bad_messages, good_messages

CODES: Final = Path(__file__).resolve().parents[3] / "config" / "codes.yaml"
AGENTS: Final = frozenset(f"A{number:04d}" for number in range(1, 31))
TOO_LATE_AT: Final = datetime(2021, 3, 31, 23, 59, tzinfo=timezone(timedelta(hours=9)))
START: Final = datetime(2024, 4, 1, 9, 0, tzinfo=timezone(timedelta(hours=9)))


@pytest.fixture(scope="module")
def book() -> CodeBook:
    return load_codebook(CODES)


@pytest.fixture(scope="module")
def corpus() -> list[BadMessage]:
    return bad_messages(AGENTS, TOO_LATE_AT, start=START)


def accepted(raw: bytes, book: CodeBook) -> UpstreamEvent:
    """parse → normalise → validate, as ingest does; `ContractViolation` when rejected."""
    try:
        decode_upstream(raw)
    except ContractViolation as violation:
        if violation.reason in {
            RejectReason.TOO_LARGE,
            RejectReason.MALFORMED_JSON,
            RejectReason.EMPTY_VALUE,
        }:
            raise
    # decode_upstream parsed it, so this parse succeeds; it validates without the code book.
    document = json.loads(raw, parse_float=Decimal)
    return validate_document(book.normalise(document))


def outcome(raw: bytes, book: CodeBook) -> RejectReason | None:
    try:
        event = accepted(raw, book)
    except ContractViolation as violation:
        return violation.reason
    if event.agent_id is not None and event.agent_id not in AGENTS:
        return RejectReason.UNKNOWN_ENTITY
    if event.occurred_at <= TOO_LATE_AT:
        return RejectReason.TOO_LATE
    return None


def test_every_bad_message_gets_its_reason(corpus: list[BadMessage], book: CodeBook) -> None:
    wrong = [
        (index, message.reason.value, str(outcome(message.raw, book)), message.raw[:120])
        for index, message in enumerate(corpus)
        if outcome(message.raw, book) != message.reason
    ]
    assert wrong == []


def test_the_corpus_covers_every_reason_at_least_ten_times(corpus: list[BadMessage]) -> None:
    counts = Counter(message.reason for message in corpus)
    assert len(corpus) >= 200
    # processing_error is never the message's fault: no bytes can ask for it.
    assert set(counts) == set(RejectReason) - {RejectReason.PROCESSING_ERROR}
    assert counts.pop(RejectReason.EMPTY_VALUE) == 1  # b"" is the only empty value
    assert min(counts.values()) >= 10, counts
    assert len({message.raw for message in corpus}) == len(corpus)  # no duplicates


def test_the_corpus_is_deterministic(corpus: list[BadMessage]) -> None:
    assert bad_messages(AGENTS, TOO_LATE_AT, start=START) == corpus
    assert bad_messages(AGENTS, TOO_LATE_AT, start=START, seed=7) != corpus


def test_oversize_messages_are_just_over_the_limit_or_far_beyond(
    corpus: list[BadMessage],
) -> None:
    sizes = [len(m.raw) for m in corpus if m.reason is RejectReason.TOO_LARGE]
    assert min(sizes) == MAX_MESSAGE_BYTES + 1
    assert all(len(m.raw) <= MAX_MESSAGE_BYTES for m in corpus if m.reason != "too_large")


def test_late_and_unknown_entity_messages_are_otherwise_valid(
    corpus: list[BadMessage], book: CodeBook
) -> None:
    for message in corpus:
        if message.reason is RejectReason.TOO_LATE:
            event = accepted(message.raw, book)
            assert event.agent_id in AGENTS
            assert event.occurred_at <= TOO_LATE_AT
        elif message.reason is RejectReason.UNKNOWN_ENTITY:
            event = accepted(message.raw, book)
            assert event.agent_id not in AGENTS
            assert event.occurred_at > TOO_LATE_AT


def _readable(message: BadMessage) -> str:
    """The message's text with JSON escapes resolved, when it parses."""
    try:
        return json.dumps(json.loads(message.raw), ensure_ascii=False)
    except (ValueError, RecursionError):
        return message.raw.decode("utf-8", errors="replace")


def test_bad_messages_use_codes_in_all_three_languages(corpus: list[BadMessage]) -> None:
    text = "\n".join(map(_readable, corpus))
    for language, position in (("en", 0), ("zh", 1), ("ja", 2)):
        aliases = {words[position] for table in WORDS.values() for words in table.values()}
        assert any(alias in text for alias in aliases), language
    for unknown in ("不明", "未知渠道", "待定", "検討中"):
        assert unknown in text


def test_good_messages_pass_normalise_and_validate(book: CodeBook) -> None:
    messages = list(good_messages(600, AGENTS, START))
    events = [accepted(raw, book) for raw in messages]
    assert len({(event.source, event.event_id) for event in events}) == 600
    assert {event.agent_id for event in events} <= AGENTS
    assert all(event.occurred_at >= START for event in events)
    assert {type(event).__name__ for event in events} == {
        "PolicyEvent",
        "RenewalEvent",
        "ComplaintEvent",
        "SurveyEvent",
        "AssessmentEvent",
        "TrainingEvent",
    }
    surveys = [event for event in events if isinstance(event, SurveyEvent)]
    assert any(event.callback_phone for event in surveys)
    assert any(event.agent_phone for event in surveys)
    # Aliases, not canonical codes, went in: the code book did the work.
    raw_text = b"".join(messages).decode("utf-8")
    assert "対面" in raw_text or "\\u5bfe\\u9762" in raw_text
    assert "面对面" in raw_text or "\\u9762\\u5bf9\\u9762" in raw_text


def _reason_without_code_book(raw: bytes) -> RejectReason | None:
    try:
        decode_upstream(raw)
    except ContractViolation as violation:
        return violation.reason
    return None


def test_good_messages_without_the_code_book_would_be_rejected() -> None:
    reasons = Counter(_reason_without_code_book(raw) for raw in good_messages(60, AGENTS, START))
    assert set(reasons) == {None, RejectReason.SCHEMA_VIOLATION}
    assert reasons[RejectReason.SCHEMA_VIOLATION] > 30


def test_event_ids_of_good_and_otherwise_valid_bad_messages_never_collide(
    corpus: list[BadMessage],
) -> None:
    good = {json.loads(raw)["event_id"] for raw in good_messages(3_000, AGENTS, START)}
    # Valid-looking bad messages would be swallowed as duplicates if they shared an id.
    bad_ids = [
        json.loads(message.raw)["event_id"]
        for message in corpus
        if message.reason in {RejectReason.UNKNOWN_ENTITY, RejectReason.TOO_LATE}
    ]
    assert len(set(bad_ids)) == len(bad_ids) == 48
    assert good.isdisjoint(bad_ids)


def test_generators_refuse_naive_times_and_no_agents() -> None:
    with pytest.raises(ValueError, match="aware"):
        bad_messages(AGENTS, datetime(2020, 1, 1))  # naive on purpose
    with pytest.raises(ValueError, match="must not be empty"):
        list(good_messages(1, [], START))
    assert next(good_messages(1, AGENTS, START.astimezone(UTC)))
