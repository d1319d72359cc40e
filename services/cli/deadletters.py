"""`kpi deadletters`: what is in kpi.deadletter.v1, and sending letters back after a fix.

Pure: the letters come in through `LetterSource`, go back out through an `OutputPort`, and the
letters already re-driven are remembered by a `RedriveLedger`; the adapters are in
`deadletter_io`. A letter is named by where its record was read, `topic:partition:offset`.

Re-driving is idempotent twice over. `redrive` skips letters the ledger says went back already,
and remembers a letter only once the broker acknowledged it (a crash in between sends it again
next time). A record sent twice anyway is still one event: ingest claims `(source, event_id)`
and drops the second copy as a counted duplicate, without a dead letter.
"""

import base64
import json
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Protocol

from shared import topics
from shared.errors import KpiError
from shared.kafka_output import Outbound, OutputPort
from shared.messages import DeadLetter

# Only a record ingest or scoring reads again can be re-driven: anything else (an org change,
# a score) has no consumer that would take it back.
REDRIVABLE_TOPICS: Final[frozenset[str]] = frozenset({*topics.UPSTREAM, topics.EVENTS})
REDRIVE_CHUNK: Final = 500
_DURATION: Final = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS: Final = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class BadSince(KpiError):
    """`--since` is neither a time nor a duration."""


@dataclass(frozen=True)
class StoredLetter:
    """A dead letter and where it sits on kpi.deadletter.v1."""

    letter: DeadLetter
    partition: int
    offset: int

    @property
    def source_position(self) -> str:
        """Where the rejected record was read, `topic:partition:offset`: the letter's name."""
        letter = self.letter
        return f"{letter.source_topic}:{letter.partition}:{letter.offset}"


@dataclass(frozen=True)
class LetterBatch:
    """Everything on the topic: the letters, and how many records were not dead letters."""

    letters: tuple[StoredLetter, ...]
    unreadable: int = 0


class LetterSource(Protocol):
    """Reads kpi.deadletter.v1 from its beginning to its end."""

    async def read_all(self) -> LetterBatch:
        """Every letter on the topic now, in topic order."""
        ...


class RedriveLedger(Protocol):
    """Remembers which letters (by source position) were re-driven."""

    async def redriven(self, positions: Collection[str]) -> set[str]:
        """Those of `positions` that went back already."""
        ...

    async def remember(self, positions: Sequence[str], at: datetime) -> None:
        """Record that these letters went back (acknowledged by the broker)."""
        ...


@dataclass(frozen=True)
class LetterFilter:
    """Which letters a command looks at; `None` matches any."""

    reason: str | None = None
    source_topic: str | None = None
    since: datetime | None = None

    def matches(self, letter: DeadLetter) -> bool:
        """True when the letter passes every criterion given."""
        return (
            (self.reason is None or letter.reason.value == self.reason)
            and (self.source_topic is None or letter.source_topic == self.source_topic)
            and (self.since is None or letter.received_at >= self.since)
        )

    @classmethod
    def from_options(
        cls, reason: str | None, source_topic: str | None, since: str | None, now: datetime
    ) -> "LetterFilter":
        """The filter of the command-line options (`--since` read by `parse_since`)."""
        when = parse_since(since, now) if since is not None else None
        return cls(reason=reason, source_topic=source_topic, since=when)


def parse_since(text: str, now: datetime) -> datetime:
    """`--since`: a duration back from now (`90m`, `24h`, `7d`), a date (UTC midnight) or an
    ISO 8601 time (UTC when it names no offset)."""
    value = text.strip()
    duration = _DURATION.match(value)
    if duration:
        amount, unit = duration.groups()
        return now - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        if len(value) == len("2024-06-01"):
            return datetime.combine(date.fromisoformat(value), time(), UTC)
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadSince(
            f"--since {text!r}: give a duration (90m, 24h, 7d), a date (2024-06-01) or a time "
            "(2024-06-01T09:00:00+09:00)"
        ) from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class Listing:
    """The letters that match a filter, newest last, with their counts."""

    letters: tuple[StoredLetter, ...]
    by_reason: dict[str, int]
    by_source_topic: dict[str, int]
    redriven_by_reason: dict[str, int]
    unreadable: int

    @property
    def redriven(self) -> int:
        """How many of the letters went back already."""
        return sum(self.redriven_by_reason.values())

    def newest(self, count: int) -> list[StoredLetter]:
        """The `count` letters received last, newest first."""
        ordered = sorted(self.letters, key=lambda s: s.letter.received_at, reverse=True)
        return ordered[:count]

    def as_json(self) -> dict[str, Any]:
        """Counts, then every letter in the dead-letter shape of DESIGN §11."""
        return {
            "total": len(self.letters),
            "redriven": self.redriven,
            "unreadable": self.unreadable,
            "counts": {
                "by_reason": self.by_reason,
                "by_source_topic": self.by_source_topic,
                "redriven_by_reason": self.redriven_by_reason,
            },
            "letters": [letter_document(s.letter) for s in self.letters],
        }


def letter_document(letter: DeadLetter) -> dict[str, Any]:
    """A letter as DESIGN §11 writes it: reason, detail, where from, when, the bytes."""
    document: dict[str, Any] = json.loads(letter.model_dump_json(exclude={"schema_version"}))
    return document


def _sorted_counts(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda item: (-item[1], item[0])))


def list_letters(batch: LetterBatch, wanted: LetterFilter, redriven: Collection[str]) -> Listing:
    """The letters of `batch` that pass `wanted`, counted by reason and source topic.

    `redriven` names the letters (source positions) that went back already.
    """
    letters = tuple(s for s in batch.letters if wanted.matches(s.letter))
    return Listing(
        letters=letters,
        by_reason=_sorted_counts(Counter(s.letter.reason.value for s in letters)),
        by_source_topic=_sorted_counts(Counter(s.letter.source_topic for s in letters)),
        redriven_by_reason=_sorted_counts(
            Counter(s.letter.reason.value for s in letters if s.source_position in redriven)
        ),
        unreadable=batch.unreadable,
    )


@dataclass(frozen=True)
class RedrivePlan:
    """What a re-drive sends, and what it leaves, and why."""

    to_send: tuple[StoredLetter, ...]
    already_redriven: int
    not_redrivable: dict[str, int]  # source topic → letters

    def per_topic(self) -> dict[str, int]:
        """Letters to send per source topic."""
        return _sorted_counts(Counter(s.letter.source_topic for s in self.to_send))


def plan_redrive(
    letters: Iterable[StoredLetter], wanted: LetterFilter, redriven: Collection[str]
) -> RedrivePlan:
    """The letters that pass `wanted` and can go back, once each, oldest first.

    A record dead-lettered twice (ingest re-read it after a crash) is one letter to send.
    """
    to_send: dict[str, StoredLetter] = {}
    already = 0
    elsewhere: Counter[str] = Counter()
    for stored in letters:
        letter = stored.letter
        if not wanted.matches(letter):
            continue
        if letter.source_topic not in REDRIVABLE_TOPICS:
            elsewhere[letter.source_topic] += 1
        elif stored.source_position in redriven:
            already += 1
        else:
            to_send.setdefault(stored.source_position, stored)
    return RedrivePlan(tuple(to_send.values()), already, _sorted_counts(elsewhere))


def _owner_key(letter: DeadLetter) -> bytes | None:
    """The partition key the record had: its agent (or branch), as upstream and ingest key.

    A dead letter does not keep the record's key, but the contract says what it is; a payload
    that names no owner goes back unkeyed, and ingest judges it on its bytes alone.
    """
    try:
        document = json.loads(letter.payload)
    except (ValueError, RecursionError):
        return None
    if isinstance(document, dict) and letter.source_topic == topics.EVENTS:
        document = document.get("event")
    if not isinstance(document, dict):
        return None
    owner = document.get("agent_id") or document.get("branch_id")
    return owner.encode() if isinstance(owner, str) and owner else None


def redrive_message(letter: DeadLetter) -> Outbound:
    """The original record again: its bytes, to its source topic, keyed by its owner."""
    return Outbound(
        letter.source_topic, _owner_key(letter), base64.b64decode(letter.payload_base64)
    )


@dataclass
class RedriveResult:
    """What went back, per source topic."""

    sent: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Letters sent in all."""
        return sum(self.sent.values())


async def redrive(
    plan: RedrivePlan,
    output: OutputPort,
    ledger: RedriveLedger,
    *,
    clock: Callable[[], datetime],
    on_progress: Callable[[int], None] = lambda done: None,
    chunk: int = REDRIVE_CHUNK,
) -> RedriveResult:
    """Send the plan's letters back, a chunk at a time, remembering each acknowledged chunk."""
    result = RedriveResult()
    for start in range(0, len(plan.to_send), chunk):
        part = plan.to_send[start : start + chunk]
        await output.send_all([redrive_message(s.letter) for s in part])
        await ledger.remember([s.source_position for s in part], clock())
        for stored in part:
            topic = stored.letter.source_topic
            result.sent[topic] = result.sent.get(topic, 0) + 1
        on_progress(start + len(part))
    return result
