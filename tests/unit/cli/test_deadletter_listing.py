"""`kpi deadletters`' logic with fakes: filters, counts, `--since`, what can be re-driven, and a
re-drive that goes back once, keyed by its owner, remembered only once acknowledged."""

import base64
import json
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import pytest

from services.cli.deadletters import (
    BadSince,
    LetterBatch,
    LetterFilter,
    StoredLetter,
    list_letters,
    parse_since,
    plan_redrive,
    redrive,
    redrive_message,
)
from shared import topics
from shared.events import ContractViolation, RejectReason
from shared.messages import DeadLetter
from tests.support.fakes import RecordingOutput

NOW: Final = datetime(2024, 6, 10, 12, 0, tzinfo=UTC)


def _letter(
    reason: RejectReason,
    *,
    topic: str = topics.POLICY,
    offset: int,
    partition: int = 0,
    received_at: datetime = NOW,
    payload: bytes | None = None,
) -> DeadLetter:
    document = {"event_type": "policy", "event_id": f"p-{offset}", "agent_id": "A0001"}
    return DeadLetter.from_violation(
        payload if payload is not None else json.dumps(document).encode(),
        topic=topic,
        partition=partition,
        offset=offset,
        violation=ContractViolation(reason, f"something wrong at {offset}"),
        received_at=received_at,
    )


def _stored(letters: Sequence[DeadLetter]) -> tuple[StoredLetter, ...]:
    return tuple(StoredLetter(letter, 0, number) for number, letter in enumerate(letters))


class MemoryLedger:
    """`RedriveLedger` in a set."""

    def __init__(self) -> None:
        self.positions: set[str] = set()

    async def redriven(self, positions: Collection[str]) -> set[str]:
        return self.positions & set(positions)

    async def remember(self, positions: Sequence[str], at: datetime) -> None:
        self.positions.update(positions)


@pytest.fixture
def mixed() -> LetterBatch:
    return LetterBatch(
        _stored(
            [
                _letter(
                    RejectReason.SCHEMA_VIOLATION, offset=1, received_at=NOW - timedelta(days=3)
                ),
                _letter(
                    RejectReason.SCHEMA_VIOLATION, offset=2, received_at=NOW - timedelta(hours=1)
                ),
                _letter(RejectReason.TOO_LATE, offset=3, topic=topics.SURVEY),
                _letter(RejectReason.SCHEMA_VIOLATION, offset=4, topic=topics.ORG),
                _letter(RejectReason.TOO_LATE, offset=5, topic=topics.EVENTS),
            ]
        ),
        unreadable=1,
    )


def test_counts_by_reason_and_source_topic_most_first(mixed: LetterBatch) -> None:
    listing = list_letters(mixed, LetterFilter(), redriven=set())

    assert listing.by_reason == {"schema_violation": 3, "too_late": 2}
    assert listing.by_source_topic == {
        topics.POLICY: 2,
        topics.EVENTS: 1,
        topics.ORG: 1,
        topics.SURVEY: 1,
    }
    assert (len(listing.letters), listing.unreadable, listing.redriven) == (5, 1, 0)


def test_filters_by_reason_source_topic_and_since(mixed: LetterBatch) -> None:
    by_reason = list_letters(mixed, LetterFilter(reason="too_late"), set())
    by_topic = list_letters(mixed, LetterFilter(source_topic=topics.POLICY), set())
    recent = list_letters(mixed, LetterFilter(since=NOW - timedelta(hours=2)), set())
    both = list_letters(
        mixed, LetterFilter(reason="schema_violation", source_topic=topics.ORG), set()
    )

    assert [s.letter.offset for s in by_reason.letters] == [3, 5]
    assert [s.letter.offset for s in by_topic.letters] == [1, 2]
    assert [s.letter.offset for s in recent.letters] == [2, 3, 4, 5]
    assert [s.letter.offset for s in both.letters] == [4]


def test_newest_first_and_redriven_counted_by_reason(mixed: LetterBatch) -> None:
    listing = list_letters(mixed, LetterFilter(), redriven={f"{topics.POLICY}:0:1"})

    assert [s.letter.offset for s in listing.newest(2)] == [3, 4]  # ties keep topic order
    assert listing.newest(5)[-1].letter.offset == 1
    assert listing.redriven_by_reason == {"schema_violation": 1}


def test_json_has_counts_and_letters_in_the_design_shape(mixed: LetterBatch) -> None:
    document = list_letters(mixed, LetterFilter(reason="too_late"), set()).as_json()

    assert document["total"] == 2
    assert document["counts"]["by_reason"] == {"too_late": 2}
    assert set(document["letters"][0]) == {
        "reason",
        "detail",
        "source_topic",
        "partition",
        "offset",
        "received_at",
        "payload_base64",
    }
    json.dumps(document)  # printable as it is


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", NOW - timedelta(minutes=90)),
        ("24h", NOW - timedelta(hours=24)),
        ("7d", NOW - timedelta(days=7)),
        ("30s", NOW - timedelta(seconds=30)),
        ("2024-06-01", datetime(2024, 6, 1, tzinfo=UTC)),
        ("2024-06-01T09:00:00+09:00", datetime(2024, 6, 1, 0, 0, tzinfo=UTC)),
        ("2024-06-01T09:00:00", datetime(2024, 6, 1, 9, 0, tzinfo=UTC)),
    ],
)
def test_since_takes_durations_dates_and_times(text: str, expected: datetime) -> None:
    assert parse_since(text, NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "7w", "2024-13-01", ""])
def test_since_names_what_it_takes_when_it_cannot_read_it(text: str) -> None:
    with pytest.raises(BadSince, match="give a duration"):
        parse_since(text, NOW)


def test_only_upstream_and_canonical_event_letters_can_go_back(mixed: LetterBatch) -> None:
    plan = plan_redrive(mixed.letters, LetterFilter(), redriven=set())

    assert [s.letter.offset for s in plan.to_send] == [1, 2, 3, 5]
    assert plan.not_redrivable == {topics.ORG: 1}
    assert plan.per_topic() == {topics.POLICY: 2, topics.EVENTS: 1, topics.SURVEY: 1}


def test_a_plan_skips_what_went_back_and_sends_a_twice_dead_lettered_record_once() -> None:
    first = _letter(RejectReason.SCHEMA_VIOLATION, offset=7)
    # Ingest crashed after publishing the letter and read the record again: a second letter.
    again = _letter(RejectReason.SCHEMA_VIOLATION, offset=7, received_at=NOW + timedelta(seconds=5))
    done = _letter(RejectReason.SCHEMA_VIOLATION, offset=8)
    plan = plan_redrive(
        _stored([first, again, done]), LetterFilter(), redriven={f"{topics.POLICY}:0:8"}
    )

    assert [s.letter.offset for s in plan.to_send] == [7]
    assert plan.already_redriven == 1


def test_the_message_is_the_original_bytes_to_the_source_topic_keyed_by_owner() -> None:
    survey = {"event_type": "survey", "branch_id": "B05", "event_id": "s-1"}
    payload = json.dumps(survey, ensure_ascii=False).encode() + b"  "
    message = redrive_message(
        _letter(RejectReason.SCHEMA_VIOLATION, topic=topics.SURVEY, offset=1, payload=payload)
    )
    assert (message.topic, message.key, message.value) == (topics.SURVEY, b"B05", payload)


def test_a_canonical_event_goes_back_keyed_by_its_agent_and_garbage_unkeyed() -> None:
    event: dict[str, Any] = {"key": "x:1", "event": {"agent_id": "A0042"}}
    canonical = redrive_message(
        _letter(
            RejectReason.TOO_LATE, topic=topics.EVENTS, offset=1, payload=json.dumps(event).encode()
        )
    )
    garbage = redrive_message(
        _letter(RejectReason.MALFORMED_JSON, offset=2, payload=b"\xff{not json")
    )

    assert (canonical.topic, canonical.key) == (topics.EVENTS, b"A0042")
    assert (garbage.key, garbage.value) == (None, b"\xff{not json")


async def test_redrive_sends_in_chunks_and_a_second_run_sends_nothing(
    mixed: LetterBatch,
) -> None:
    output, ledger = RecordingOutput(), MemoryLedger()
    progress: list[int] = []
    wanted = LetterFilter()

    first = await redrive(
        plan_redrive(mixed.letters, wanted, set()),
        output,
        ledger,
        clock=lambda: NOW,
        on_progress=progress.append,
        chunk=3,
    )
    positions = {s.source_position for s in mixed.letters}
    second_plan = plan_redrive(mixed.letters, wanted, await ledger.redriven(positions))
    second = await redrive(second_plan, output, ledger, clock=lambda: NOW)

    assert first.sent == {topics.POLICY: 2, topics.SURVEY: 1, topics.EVENTS: 1}
    assert progress == [3, 4]
    assert len(output.sent) == 4
    assert [m.value for m in output.on(topics.POLICY)] == [
        base64.b64decode(s.letter.payload_base64) for s in mixed.letters[:2]
    ]
    assert (second.total, second_plan.already_redriven, len(output.sent)) == (0, 4, 4)


async def test_a_chunk_the_broker_refused_is_not_remembered(mixed: LetterBatch) -> None:
    output, ledger = RecordingOutput(), MemoryLedger()
    output.fail_next(1)
    plan = plan_redrive(mixed.letters, LetterFilter(), set())

    with pytest.raises(ConnectionError):
        await redrive(plan, output, ledger, clock=lambda: NOW)

    assert ledger.positions == set()


def test_a_dry_run_plan_says_what_would_go_without_sending(mixed: LetterBatch) -> None:
    plan = plan_redrive(mixed.letters, LetterFilter(reason="too_late"), set())

    assert plan.per_topic() == {topics.EVENTS: 1, topics.SURVEY: 1}
    assert plan.not_redrivable == {}
