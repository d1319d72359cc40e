"""The scoring service's port to its state: `StateStore`, implemented for MongoDB in
`mongo_store.py` and in memory in the tests.

One batch = one `commit`: counter increments, record facts, the next offset, source marks and
channel watermarks of every partition, and the group's low watermark, in one transaction.
Fencing: a partition commits only if its stored offset is still the one this instance read,
so a zombie instance after a rebalance cannot apply a batch twice.
"""

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from shared.errors import KpiError, StoreError, StoreUnavailable
from shared.watermarks import PartitionClock, product_low

from .domain.model import Fact

Document = dict[str, Any]


class StaleOffsets(KpiError):
    """Another instance committed this partition since we read its offset; nothing was written."""


class StateStoreError(StoreError):
    """The store refused an operation for good (a document it cannot store, a bug): retrying
    the batch would fail the same way, so the service isolates the poisoned record."""


class StateStoreUnavailable(StateStoreError, StoreUnavailable):
    """The store failed for now (unreachable, timed out, a write conflict): the batch was not
    applied, or, if the commit itself failed, maybe it was. Retry the same batch: the fence
    makes a retry safe, and one that finds its own earlier commit raises `StaleOffsets`."""


class CommitTooLong(StateStoreError):
    """The batch's transaction outlived the database's transaction lifetime (MongoDB aborts
    one after `transactionLifetimeLimitSeconds`, 60 s by default) or grew too large: the same
    batch would fail the same way, so the service splits it instead of retrying it."""


@dataclass(frozen=True)
class StoredPosition:
    """Where a partition of the input stands in the state."""

    next_offset: int
    # For each upstream source partition ("topic:partition"), the highest source offset already
    # applied from it through this input partition: a lower or equal one is a re-publication
    # by ingest after a crash, and is skipped.
    source_marks: Mapping[str, int] = field(default_factory=dict)
    # For each channel (upstream source partition), the latest event time applied from it
    # through this input partition: lateness is judged against it (shared/watermarks.py).
    watermarks: Mapping[str, datetime] = field(default_factory=dict)
    low: datetime | None = None  # the partition's watermark: the latest ingest stamp read


@dataclass(frozen=True)
class GroupClock:
    """The group's event time, for closing periods (shared/watermarks.py)."""

    low: datetime | None  # the low watermark: every input read up to it (None: not yet known)
    latest: datetime | None  # the latest event time applied
    committed_at: datetime | None  # wall-clock time of the last batch
    backlog: bool = False  # whether some partition had records left to read then
    earliest: datetime | None = None  # the earliest event time applied

    def quiet(self, wall: datetime, idle_after: timedelta) -> bool:
        """Nothing left to read at the last batch, and no batch since for the idle time: every
        input is idle (a long batch in a backlog is not quiet)."""
        if self.backlog:
            return False
        return self.committed_at is None or wall - self.committed_at >= idle_after

    def settled(self, wall: datetime, idle_after: timedelta) -> datetime | None:
        """Event time as far as it is settled: the low watermark, or, once every input is idle,
        the greatest event time known (Flink's rule for all-idle inputs)."""
        if not self.quiet(wall, idle_after):
            return self.low
        known = [t for t in (self.low, self.latest) if t is not None]
        return max(known) if known else None


@dataclass(frozen=True)
class PartitionCommit:
    """The new position of one input partition after a batch."""

    topic: str
    partition: int
    expected_next_offset: int | None  # what we read at assignment / last commit; None if none
    next_offset: int
    source_marks: Mapping[str, int]
    watermarks: Mapping[str, datetime] = field(default_factory=dict)
    low: datetime | None = None  # the partition's watermark: the latest ingest stamp read
    backlog: bool = False  # whether records were left to read on the broker


@dataclass(frozen=True)
class CounterDocument:
    """Increments for one counter document (`{entity}|{fiscal year}`)."""

    doc_id: str
    entity: str
    fiscal_year: str
    increments: Mapping[str, int]  # "bucket/component" -> delta, e.g. "2024-05/renewal_due": 3


@dataclass(frozen=True)
class BatchWrite:
    """Everything one batch changes."""

    counters: Sequence[CounterDocument]
    # record bucket id -> record id -> the record's complete set of facts after this batch
    records: Mapping[str, Mapping[str, Sequence[Fact]]]
    partitions: Sequence[PartitionCommit]
    group: str
    # Wall-clock time of the commit, and the idle time after which a partition that has not
    # committed stops holding the group's low watermark back (`product_low`).
    committed_at: datetime
    idle_after: timedelta
    # This instance's low watermark over the partitions it owns (some may never have
    # committed); the group's is the lesser of it and what every partition's commit says.
    low: datetime | None = None
    latest: datetime | None = None  # the latest event time applied, this batch included
    earliest: datetime | None = None  # the earliest event time in this batch


def group_low(partitions: Sequence[PartitionClock], write: "BatchWrite") -> datetime | None:
    """The group's low watermark after a batch: the lesser of what every partition's last
    commit says and the committing instance's own (None: not known yet, leave it)."""
    from_commits = product_low(partitions, now=write.committed_at, idle_after=write.idle_after)
    if from_commits is None or write.low is None:
        return None
    return min(from_commits, write.low)


# Called inside the transaction, before the commit: the service publishes the batch's dead
# letters here, so a crash before the commit replays the batch and publishes the same
# (deterministic) letters again, and none is ever lost. Score updates go out after the commit
# (see publication.py).
BeforeCommit = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Unscored:
    """What partitions committed and never published: (entity, bucket) pairs whose counters
    changed after the earliest of their `scored_at`, and the latest of their commits."""

    touched: frozenset[tuple[str, str]] = frozenset()
    through: datetime | None = None


class StateStore(Protocol):
    """Durable KPI state."""

    async def ensure_schema(self) -> None:
        """Create collections and indexes (idempotent)."""
        ...

    async def positions(
        self, group: str, partitions: Collection[tuple[str, int]]
    ) -> dict[tuple[str, int], StoredPosition]:
        """Stored positions of the given input partitions (absent when never committed)."""
        ...

    async def stream_time(self, group: str) -> datetime | None:
        """The latest event time the group applied (what a score is `as_of`)."""
        ...

    async def group_clock(self, group: str) -> GroupClock | None:
        """The group's low watermark, latest event time and last commit's wall-clock time."""
        ...

    async def records(self, bucket_ids: Collection[str]) -> dict[str, dict[str, list[Fact]]]:
        """Facts of every record in the given buckets (missing buckets are absent)."""
        ...

    async def counter_documents(self, doc_ids: Collection[str]) -> dict[str, Document]:
        """Counter documents by id, as `{"entity", "fiscal_year", "buckets": {bucket:
        {component: int}}}` (missing ones are absent)."""
        ...

    async def commit(self, write: BatchWrite, before_commit: BeforeCommit) -> None:
        """Apply a batch atomically; raise `StaleOffsets` (and write nothing) if fenced out.
        Each counter document records when each of its buckets other than days last changed
        (`touched`, the batch's `committed_at`), for `unscored`."""
        ...

    def forget(self) -> None:
        """Drop whatever is kept in memory between batches (partitions were revoked: another
        instance may write their state next)."""
        ...

    async def mark_scored(
        self, group: str, partitions: Collection[tuple[str, int]], through: datetime
    ) -> None:
        """Every change these partitions committed up to `through` has been published (the
        stored mark only moves forward)."""
        ...

    async def unscored(self, group: str, partitions: Collection[tuple[str, int]]) -> Unscored:
        """What these partitions committed after their last `mark_scored` (nothing when every
        commit is marked)."""
        ...
