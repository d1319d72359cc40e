"""Score updates, published after their batches commit and coalesced while scoring catches up.

Each committed batch adds the (entity, period) pairs whose KPIs it changed to a pending set.
The set is published (one message per changed entity, KPI and period, computed from the
committed counters) after every batch once scoring has caught up, that is when no assigned
partition has records left to read. While it catches up, the set is published every
`flush_interval` or as soon as it holds `max_pending` pairs. So a year of backlog publishes
each pair a handful of times instead of after each of its batches.

A flush computes and sends its messages `chunk_pairs` pairs at a time (an entity's pairs in
one chunk, so that a period's later periods are computed once), so its memory is bounded by a
chunk, not by what waits: 30 s of a fast backlog is about 19,000 pairs and 194,000 messages,
which built at once raised scoring's peak RSS by about 250 MiB (the overload test).

Nothing is lost across a crash. A flush records in each assigned partition's position the
commit time it covers (`scored_at`), and every counter document records when each of its
buckets last changed (`touched`). An instance assigned a partition whose last commit is later
than its `scored_at` republishes every (entity, bucket) touched since then (`recover`). It may
send a score again, with the same deterministic id, but never misses one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from array import array
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from shared import retry
from shared.batch_span import BatchSpan
from shared.kafka_output import Outbound, OutputPort

from .domain.batch import BatchOutcome, InputRecord
from .metrics import ScoringMetrics
from .ports import StateStore

logger = logging.getLogger(__name__)
PartitionKey = tuple[str, int]
Changed = dict[tuple[str, str], set[str]]  # (entity, period) -> KPI ids
FLUSH_INTERVAL = timedelta(seconds=30)
MAX_PENDING = 100_000  # (entity, period) pairs waiting to be published
CHUNK_PAIRS = 2_000  # (entity, period) pairs whose messages are built and sent at once
# While live, a complete publication (the later periods changes reach, and the mark of what is
# published) at most this often; the others send the changed periods alone.
COMPLETE_EVERY = timedelta(seconds=2)


class Scorer(Protocol):
    """Turns changed (entity, period) pairs into score messages."""

    def changed(self, outcome: BatchOutcome) -> Changed:
        """The (entity, period) pairs and KPIs a batch changed."""
        ...

    def changed_buckets(self, touched: Iterable[tuple[str, str]]) -> Changed:
        """Every KPI of every period of the given (entity, bucket) pairs (after a crash)."""
        ...

    def reaching_later(self, changed: Mapping[tuple[str, str], set[str]]) -> Changed:
        """The pairs whose change reaches later periods (prefix sums), with those KPIs."""
        ...

    async def messages(
        self,
        changed: Mapping[tuple[str, str], set[str]],
        stream_time: datetime | None,
        *,
        later: bool = True,
    ) -> list[Outbound]:
        """One message per (entity, KPI, period), from the committed counters, `as_of` the
        stream time; with `later`, also every later period a change reaches."""
        ...


@dataclass
class _Pending:
    changed: Changed = field(default_factory=dict)
    sent_at: array[float] = field(default_factory=lambda: array("d"))  # broker timestamps
    through: datetime | None = None  # the latest commit whose changes are in `changed`

    def merge(self, other: _Pending) -> None:
        for key, kpis in other.changed.items():
            self.changed.setdefault(key, set()).update(kpis)
        self.sent_at.extend(other.sent_at)
        if other.through is not None and (self.through is None or other.through > self.through):
            self.through = other.through


class ScorePublication:
    """The pending score updates of one scoring instance, and when and how they go out."""

    def __init__(
        self,
        *,
        scorer: Scorer,
        store: StateStore,
        output: OutputPort,
        metrics: ScoringMetrics,
        group: str,
        retry_policy: retry.RetryPolicy,
        flush_interval: timedelta = FLUSH_INTERVAL,
        max_pending: int = MAX_PENDING,
        chunk_pairs: int = CHUNK_PAIRS,
        complete_every: timedelta = COMPLETE_EVERY,
        wall: Callable[[], datetime],
        stream_time: Callable[[], datetime | None],
        writing: asyncio.Lock | None = None,
    ) -> None:
        self._scorer = scorer
        self._store = store
        self._output = output
        self._metrics = metrics
        self._group = group
        self._retry = retry_policy
        self._flush_interval = flush_interval
        self._max_pending = max_pending
        self._chunk_pairs = chunk_pairs
        self._complete_every = complete_every
        self._wall = wall
        self._stream_time = stream_time
        self._pending = _Pending()
        # What a publication while keeping up left for the next complete one: the pairs whose
        # change reaches later periods, and the latest commit not yet marked published.
        self._later = _Pending()
        self._last_flush = wall()
        self._last_complete = wall()
        self._flushing = asyncio.Lock()  # one publication at a time, in commit order
        # Held by the service around each batch's commit: marking positions published is a
        # write to the documents a batch's transaction fences, so it waits for the commit
        # rather than contending with it (the local database hung on that, never recovering).
        self._writing = writing or asyncio.Lock()

    @property
    def pending(self) -> int:
        """(entity, period) pairs waiting to be published (or their later periods)."""
        return len(self._pending.changed) + len(self._later.changed)

    def changed(self, outcome: BatchOutcome) -> Changed:
        """What a batch changed (computed before its commit, so that a failure here is the
        batch's own and bisected to the record that causes it)."""
        return self._scorer.changed(outcome)

    def add(self, changed: Changed, batch: Iterable[InputRecord], committed_at: datetime) -> None:
        """A committed batch's changes join the pending set."""
        pending = self._pending
        for key, kpis in changed.items():
            pending.changed.setdefault(key, set()).update(kpis)
        for record in batch:
            sent = record.event.source_timestamp if record.event is not None else None
            if sent is not None:
                pending.sent_at.append(sent.timestamp())
        if pending.through is None or committed_at > pending.through:
            pending.through = committed_at
        self._metrics.scores_pending.set(self.pending)

    def due(self, caught_up: bool, *, live: bool = False) -> bool:
        """Whether to publish now: caught up, or the interval passed, or too much waits.
        With nothing new, only what a live publication left: at once when asked outside the
        stream (the timer, a stop), and live once `complete_every` has passed."""
        pending = self._pending
        if pending.through is None:
            return self._later.through is not None and (
                (caught_up and not live) or self._complete_due()
            )
        return (
            caught_up
            or len(pending.changed) >= self._max_pending
            or self._wall() - self._last_flush >= self._flush_interval
        )

    def _complete_due(self) -> bool:
        return self._wall() - self._last_complete >= self._complete_every

    async def recover(self, partitions: Collection[PartitionKey]) -> None:
        """Add what was committed on these partitions and never published (a crash between
        a commit and its flush) to the pending set."""
        unscored = await self._store.unscored(self._group, partitions)
        if unscored.touched:
            changed = self._scorer.changed_buckets(unscored.touched)
            self.add(changed, (), unscored.through or self._wall())
            logger.info(
                "%d (entity, period) pairs changed since the last publication of %d "
                "partitions; they will be published again",
                len(changed),
                len(partitions),
            )

    async def flush(self, partitions: Collection[PartitionKey], *, live: bool = False) -> int:
        """Publish every pending update, then record in the partitions' positions the commit
        time they cover. Transient failures are retried; the set is kept until it is out.

        `live` (after a batch, caught up or keeping up with a stream): the changed periods go
        out, and the later periods their changes reach through prefix sums wait for the next
        complete publication (`complete_every` after the last one, or outside the stream), as
        does recording what is published: a change to a month reaches every later month that
        has a bucket, and republishing them all after every batch was most of a live
        publication (docs/scoring.md, When updates go out)."""
        async with self._flushing:
            return await self._flush(partitions, live)

    async def _flush(self, partitions: Collection[PartitionKey], live: bool) -> int:
        taken, self._pending = self._pending, _Pending()
        now = self._wall()
        self._last_flush = now
        complete = not live or self._complete_due() or len(taken.changed) >= self._max_pending
        later = _Pending()
        if complete:
            later, self._later = self._later, _Pending()
        publishing = _Pending(changed=dict(taken.changed), through=taken.through)
        publishing.merge(_Pending(changed=later.changed, through=later.through))
        if publishing.through is None:
            return 0
        span = BatchSpan.of("score publication", (), [])
        try:
            started = time.perf_counter()
            as_of = self._stream_time()
            published = 0
            for chunk in chunked(publishing.changed, self._chunk_pairs):
                messages = await self._retry.run(
                    partial(self._scorer.messages, chunk, as_of, later=complete), span
                )
                await self._retry.run(partial(self._output.send_all, messages), span)
                published += len(messages)
                del messages  # before the next chunk's are built
            acknowledged = self._wall().timestamp()
            for sent in taken.sent_at:
                self._metrics.event_to_score.observe(max(0.0, acknowledged - sent))
            through = publishing.through
            if complete:
                async with self._writing:
                    await self._retry.run(
                        lambda: self._store.mark_scored(self._group, partitions, through), span
                    )
                self._last_complete = now
            else:
                reaching = self._scorer.reaching_later(taken.changed)
                self._later.merge(_Pending(changed=reaching, through=through))
        except BaseException:
            taken.merge(self._pending)
            self._pending = taken
            later.merge(self._later)
            self._later = later
            raise
        self._metrics.scores_pending.set(self.pending)
        self._metrics.scores_published.inc(published)
        logger.info(
            "published %d score updates of %d (entity, period) pairs for %d events%s",
            published,
            len(publishing.changed),
            len(taken.sent_at),
            "" if complete else ", their later periods with the next complete publication",
        )
        self._metrics.score_flush_seconds.observe(time.perf_counter() - started)
        return published


def chunked(changed: Changed, pairs: int) -> Iterator[Changed]:
    """`changed` in parts of about `pairs` pairs (at least one entity each), every entity's
    pairs in one part, entities in order."""
    by_entity: dict[str, Changed] = {}
    for key, kpis in changed.items():
        by_entity.setdefault(key[0], {})[key] = kpis
    chunk: Changed = {}
    for entity in sorted(by_entity):
        chunk.update(by_entity[entity])
        if len(chunk) >= pairs:
            yield chunk
            chunk = {}
    if chunk:
        yield chunk
