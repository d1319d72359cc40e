"""What kpi.deadletter.v1 holds, counted as it is read: letters by reason, by source topic and
by hour received, and the newest few letters of each reason, without their personal data.

Reporting reads the topic from its beginning on every start (no consumer group, nothing
committed) and keeps these counts in memory, as a Kafka Streams global table would: the topic
is the state, so a restart rebuilds the same counts. The letters' payloads are never kept, and
a kept letter's detail goes through `scrub`, which removes phone hashes and the values quoted
for customer and phone fields.
"""

import re
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from shared.messages import DeadLetter

SAMPLES_PER_REASON: Final = 5
HOURS_KEPT: Final = 24 * 30
WITHHELD: Final = "‹withheld: personal data›"
_PHONE_HASH: Final = re.compile(r"hmac-sha256:[0-9a-fA-F]{8,}")
_PERSONAL_FIELD: Final = re.compile(r"customer|phone", re.IGNORECASE)
# Clauses that name a field but quote none of its value.
_NO_VALUE: Final = re.compile(r": (field required|unknown field\b.*)$")


def scrub(detail: str) -> str:
    """A dead letter's detail without personal data: phone hashes withheld, and in a clause
    about a customer or phone field, the value it quotes."""
    clauses = []
    for clause in detail.split("; "):
        where, sep, _ = clause.partition(": ")
        personal = sep and _PERSONAL_FIELD.search(where) and not _NO_VALUE.search(clause)
        shown = f"{where}: {WITHHELD}" if personal else clause
        clauses.append(_PHONE_HASH.sub(WITHHELD, shown))
    return "; ".join(clauses)


@dataclass(frozen=True, slots=True)
class LetterSample:
    """One dead letter as the console shows it: where and when, why, and no payload."""

    reason: str
    detail: str
    source_topic: str
    partition: int
    offset: int
    received_at: datetime


@dataclass(frozen=True, slots=True)
class DeadLetterCounts:
    """The counts at one moment."""

    total: int
    unreadable: int
    by_reason: dict[str, int]
    by_source_topic: dict[str, int]
    by_reason_and_source: dict[tuple[str, str], int]
    by_hour: dict[datetime, dict[str, int]]  # hour (UTC) → reason → letters
    samples: tuple[LetterSample, ...]  # newest first
    latest_received_at: datetime | None


def _sorted(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda item: (-item[1], item[0])))


class DeadLetterSummary:
    """Counts of every letter added, and the newest `samples_per_reason` of each reason."""

    def __init__(self, samples_per_reason: int = SAMPLES_PER_REASON) -> None:
        self._samples_per_reason = samples_per_reason
        self._pairs: Counter[tuple[str, str]] = Counter()
        self._hours: dict[datetime, Counter[str]] = {}
        self._samples: dict[str, deque[LetterSample]] = {}
        self._unreadable = 0
        self._latest: datetime | None = None
        self._positions: dict[tuple[str, int], int] = {}

    def add(self, letters: Iterable[DeadLetter]) -> None:
        """Count letters as read from the topic."""
        for letter in letters:
            reason = letter.reason.value
            self._pairs[reason, letter.source_topic] += 1
            hour = letter.received_at.replace(minute=0, second=0, microsecond=0)
            self._hours.setdefault(hour, Counter())[reason] += 1
            sample = LetterSample(
                reason=reason,
                detail=scrub(letter.detail),
                source_topic=letter.source_topic,
                partition=letter.partition,
                offset=letter.offset,
                received_at=letter.received_at,
            )
            kept = self._samples.setdefault(reason, deque(maxlen=self._samples_per_reason))
            kept.append(sample)
            if self._latest is None or letter.received_at > self._latest:
                self._latest = letter.received_at
        self._forget_old_hours()

    def read_through(self, topic: str, partition: int, offset: int) -> None:
        """The record at `offset` of the topic's partition has been counted."""
        self._positions[topic, partition] = max(
            self._positions.get((topic, partition), 0), offset + 1
        )

    def positions(self) -> dict[tuple[str, int], int]:
        """The next offset to read of each partition read so far (reporting's position on
        `kpi.deadletter.v1`, for the pipeline page's lag)."""
        return dict(self._positions)

    def add_unreadable(self, count: int = 1) -> None:
        """Count records on the topic that are not dead letters."""
        self._unreadable += count

    def _forget_old_hours(self) -> None:
        if self._latest is None:
            return
        oldest = self._latest - timedelta(hours=HOURS_KEPT)
        for hour in [h for h in self._hours if h < oldest]:
            del self._hours[hour]

    def counts(self) -> DeadLetterCounts:
        """The counts now."""
        by_reason: Counter[str] = Counter()
        by_source: Counter[str] = Counter()
        for (reason, source), count in self._pairs.items():
            by_reason[reason] += count
            by_source[source] += count
        samples = sorted(
            (s for kept in self._samples.values() for s in kept),
            key=lambda s: (s.received_at, s.source_topic, s.partition, s.offset),
            reverse=True,
        )
        return DeadLetterCounts(
            total=sum(self._pairs.values()),
            unreadable=self._unreadable,
            by_reason=_sorted(by_reason),
            by_source_topic=_sorted(by_source),
            by_reason_and_source=dict(sorted(self._pairs.items())),
            by_hour={h: dict(c) for h, c in sorted(self._hours.items())},
            samples=tuple(samples),
            latest_received_at=self._latest,
        )
