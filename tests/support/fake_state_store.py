"""A hand-written in-memory `StateStore` with `MongoStateStore`'s semantics, for unit tests.

- A commit is fenced per partition: it applies only if every stored offset is the expected
  one (absent when `expected_next_offset` is None), else `StaleOffsets` and nothing changes.
- It works on a copy of the state, calls `before_commit`, and installs the copy only if
  `before_commit` returns: an exception
  anywhere leaves the state as it was. Commits run one at a time, like conflicting
  transactions; reads meanwhile see the state before the pending commit.
- Stream time keeps BSON's precision (milliseconds, UTC), so a test cannot rely on more than
  the database keeps.
- `fail_next(calls)` makes the next commits raise `StateStoreUnavailable` (transient), as a
  lost database would.
"""

import asyncio
import copy
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.scoring.domain.model import Fact
from services.scoring.ports import (
    BatchWrite,
    BeforeCommit,
    Document,
    GroupClock,
    StaleOffsets,
    StateStoreUnavailable,
    StoredPosition,
    Unscored,
    group_low,
)
from shared.watermarks import PartitionClock

_PATH_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")


@dataclass
class _State:
    counters: dict[str, Document] = field(default_factory=dict)
    records: dict[str, dict[str, list[Fact]]] = field(default_factory=dict)
    positions: dict[tuple[str, str, int], StoredPosition] = field(default_factory=dict)
    stream_times: dict[str, datetime] = field(default_factory=dict)
    lows: dict[str, datetime] = field(default_factory=dict)
    committed_at: dict[str, datetime] = field(default_factory=dict)
    backlog: dict[str, bool] = field(default_factory=dict)
    earliest: dict[str, datetime] = field(default_factory=dict)
    partition_clocks: dict[tuple[str, str, int], PartitionClock] = field(default_factory=dict)
    touched: dict[str, dict[str, datetime]] = field(default_factory=dict)  # doc -> bucket -> at
    scored_at: dict[tuple[str, str, int], datetime] = field(default_factory=dict)


class MemoryStateStore:
    """In-memory `StateStore`."""

    def __init__(self) -> None:
        self._state = _State()
        self._lock = asyncio.Lock()
        self._fail_remaining = 0
        self.commits = 0  # commits that were installed
        self.schema_ensured = False
        self.forgotten = 0  # calls of `forget` (it holds nothing between batches)

    def fail_next(self, calls: int) -> None:
        """Raise `StateStoreUnavailable` from the next `calls` commits, writing nothing."""
        self._fail_remaining = calls

    async def ensure_schema(self) -> None:
        self.schema_ensured = True

    def forget(self) -> None:
        self.forgotten += 1

    async def positions(
        self, group: str, partitions: Collection[tuple[str, int]]
    ) -> dict[tuple[str, int], StoredPosition]:
        stored = self._state.positions
        return {
            (topic, partition): stored[(group, topic, partition)]
            for topic, partition in partitions
            if (group, topic, partition) in stored
        }

    async def stream_time(self, group: str) -> datetime | None:
        return self._state.stream_times.get(group)

    async def group_clock(self, group: str) -> GroupClock | None:
        state = self._state
        if group not in state.committed_at:
            return None
        return GroupClock(
            state.lows.get(group),
            state.stream_times.get(group),
            state.committed_at[group],
            state.backlog.get(group, False),
            state.earliest.get(group),
        )

    async def records(self, bucket_ids: Collection[str]) -> dict[str, dict[str, list[Fact]]]:
        stored = self._state.records
        return {bucket: copy.deepcopy(stored[bucket]) for bucket in bucket_ids if bucket in stored}

    async def counter_documents(self, doc_ids: Collection[str]) -> dict[str, Document]:
        stored = self._state.counters
        return {doc_id: copy.deepcopy(stored[doc_id]) for doc_id in doc_ids if doc_id in stored}

    async def commit(self, write: BatchWrite, before_commit: BeforeCommit) -> None:
        for counter in write.counters:
            for key in counter.increments:
                _check_increment_key(key)
        async with self._lock:
            if self._fail_remaining > 0:
                self._fail_remaining -= 1
                raise StateStoreUnavailable("state store unavailable")
            state = copy.deepcopy(self._state)
            for commit in write.partitions:
                where = (write.group, commit.topic, commit.partition)
                stored = state.positions.get(where)
                stored_offset = None if stored is None else stored.next_offset
                if stored_offset != commit.expected_next_offset:
                    raise StaleOffsets(
                        f"group {write.group}, {commit.topic}:{commit.partition}: the stored "
                        f"offset is {stored_offset}, not {commit.expected_next_offset}"
                    )
                state.positions[where] = StoredPosition(
                    next_offset=commit.next_offset,
                    source_marks=dict(commit.source_marks),
                    watermarks=dict(commit.watermarks),
                    low=None if commit.low is None else _as_stored(commit.low),
                )
                state.partition_clocks[where] = PartitionClock(
                    None if commit.low is None else _as_stored(commit.low),
                    _as_stored(write.committed_at),
                    commit.backlog,
                )
            for counter in write.counters:
                doc = state.counters.setdefault(
                    counter.doc_id,
                    {"entity": counter.entity, "fiscal_year": counter.fiscal_year, "buckets": {}},
                )
                touched = state.touched.setdefault(counter.doc_id, {})
                for key, delta in counter.increments.items():
                    bucket, _, component = key.partition("/")
                    components = doc["buckets"].setdefault(bucket, {})
                    components[component] = components.get(component, 0) + delta
                    if len(bucket) != 10:  # days are not recorded
                        at = _as_stored(write.committed_at)
                        touched[bucket] = max(touched.get(bucket, at), at)
            for bucket_id, by_record in write.records.items():
                if by_record:
                    stored_bucket = state.records.setdefault(bucket_id, {})
                    for record_id, facts in by_record.items():
                        stored_bucket[record_id] = [dict(fact) for fact in facts]
            clocks = [c for (g, _, _), c in state.partition_clocks.items() if g == write.group]
            low = group_low(clocks, write)
            state.backlog[write.group] = any(c.backlog for c in clocks)
            for times, value in ((state.lows, low), (state.stream_times, write.latest)):
                if value is not None:
                    now_stored = _as_stored(value)
                    before = times.get(write.group)
                    times[write.group] = now_stored if before is None else max(before, now_stored)
            state.committed_at[write.group] = _as_stored(write.committed_at)
            if write.earliest is not None:
                first, this = state.earliest.get(write.group), _as_stored(write.earliest)
                state.earliest[write.group] = this if first is None else min(first, this)
            await before_commit()
            self._state = state
            self.commits += 1

    async def mark_scored(
        self, group: str, partitions: Collection[tuple[str, int]], through: datetime
    ) -> None:
        stored, at = self._state.scored_at, _as_stored(through)
        for topic, partition in partitions:
            where = (group, topic, partition)
            if where in self._state.positions:
                stored[where] = max(stored.get(where, at), at)

    async def unscored(self, group: str, partitions: Collection[tuple[str, int]]) -> Unscored:
        state = self._state
        since: datetime | None = None
        through: datetime | None = None
        for topic, partition in partitions:
            clock = state.partition_clocks.get((group, topic, partition))
            scored = state.scored_at.get((group, topic, partition))
            if clock is None or (scored is not None and scored >= clock.committed_at):
                continue
            start = scored or datetime(1970, 1, 1, tzinfo=UTC)
            since = start if since is None else min(since, start)
            through = max(through or clock.committed_at, clock.committed_at)
        if since is None:
            return Unscored()
        touched = {
            (state.counters[doc_id]["entity"], bucket)
            for doc_id, buckets in state.touched.items()
            for bucket, at in buckets.items()
            if at > since
        }
        return Unscored(frozenset(touched), through)


def _check_increment_key(key: str) -> None:
    bucket, _, component = key.partition("/")
    if not (_PATH_SEGMENT.fullmatch(bucket) and _PATH_SEGMENT.fullmatch(component)):
        raise ValueError(f"counter increment key {key!r} is not 'bucket/component'")


def _as_stored(time: datetime) -> datetime:
    """What a BSON date keeps: UTC milliseconds (a naive time is taken as UTC, as PyMongo does)."""
    aware = time.replace(tzinfo=UTC) if time.tzinfo is None else time.astimezone(UTC)
    return aware.replace(microsecond=aware.microsecond // 1000 * 1000)
