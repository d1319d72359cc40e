"""Score updates, published after their batches commit and coalesced while scoring catches up.

Each committed batch adds the (entity, period) pairs whose KPIs it changed to a pending set.
Once scoring has caught up (no assigned partition has records left to read), or keeps up with
a stream (fewer than a batch left), the set goes out after every batch in two steps: a live
publication sends the months changed at once, and a complete one follows at most every
`complete_every` (`KPI_SCORING_SUMMARY_S`) with their quarters, halves and years and the later
months a prefix sum reaches (policies in force), then records what is published. While it
catches up, everything goes out in complete publications every `flush_interval` or as soon as
`max_pending` pairs wait. So a year of backlog publishes each pair a handful of times instead
of after each of its batches, and a live stream sends a quarter, half or year once per
`complete_every` however many of its events came meanwhile.

A publication computes and sends its messages `chunk_pairs` pairs at a time (an entity's pairs
in one chunk, so that a period's later periods are computed once), so its memory is bounded by
a chunk, not by what waits: 30 s of a fast backlog is about 19,000 pairs and 194,000 messages,
which built at once raised scoring's peak RSS by about 250 MiB (the overload test). Each chunk
is computed and sent holding one lock, so the last update of a score on the topic is the one
computed last; a complete publication lets live ones go between its chunks.

Nothing is lost across a crash. A complete publication records in each assigned partition's
position the commit time it covers (`scored_at`), and every counter document records when each
of its buckets last changed (`touched`). An instance assigned a partition whose last commit is
later than its `scored_at` republishes every (entity, bucket) touched since then (`recover`).
It may send a score again, with the same deterministic id, but never misses one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from array import array
from collections.abc import Awaitable, Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from prometheus_client import Histogram

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
# While live, the months changed go out after every batch, and a complete publication (the
# quarters, halves and years, the later periods a change reaches, and the mark of what is
# published) follows at most this long after the last one.
COMPLETE_EVERY = timedelta(seconds=2)


class Scorer(Protocol):
    """Turns changed (entity, period) pairs into score messages."""

    def changed(self, outcome: BatchOutcome) -> Changed:
        """The (entity, period) pairs and KPIs a batch changed."""
        ...

    def changed_buckets(self, touched: Iterable[tuple[str, str]]) -> Changed:
        """Every KPI of every period of the given (entity, bucket) pairs (after a crash)."""
        ...

    def split_live(self, changed: Mapping[tuple[str, str], set[str]]) -> tuple[Changed, Changed]:
        """What a live publication sends at once (the months changed) and what follows with
        the next complete one (quarters, halves and years, and the months whose change reaches
        later periods through a prefix sum, with those KPIs)."""
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
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
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
        self._sleep = sleep
        self._pending = _Pending()  # committed, nothing of it published
        # Committed, its months published by a live publication, the rest not yet: quarters,
        # halves and years, and the months whose change reaches later periods.
        self._later = _Pending()
        self._last_flush = wall()
        self._last_complete = wall()
        self._partitions: Collection[PartitionKey] = ()  # the last publication's
        self._completing: asyncio.Task[int] | None = None  # the complete one following
        self._following_up = False  # it publishes (before: it waits, or has not started)
        # Held while one chunk of updates is computed and sent (a live publication is one
        # chunk): what is computed later is sent later, so the last update of a score on the
        # topic is the newest. A complete publication releases it between its chunks, so that
        # the months of the batches beside it go out meanwhile.
        self._sending = asyncio.Lock()
        self._living = asyncio.Lock()  # one live publication at a time, in commit order
        self._completing_one = asyncio.Lock()  # one complete publication at a time
        # Held by the service around each batch's commit: marking positions published is a
        # write to the documents a batch's transaction fences, so it waits for the commit
        # rather than contending with it (the local database hung on that, never recovering).
        self._writing = writing or asyncio.Lock()

    @property
    def pending(self) -> int:
        """(entity, period) pairs waiting to be published (or their quarters, halves, years
        and later periods)."""
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
        With nothing new, what live publications left follows on its own (`flush`), or goes
        out when asked outside the stream: on a stop, or from the timer if the publication that
        was to follow failed."""
        pending = self._pending
        if pending.through is None:
            following = self._completing is not None and not self._completing.done()
            return self._later.through is not None and not live and (caught_up or not following)
        return (
            caught_up
            or len(pending.changed) >= self._max_pending
            or self._wall() - self._last_flush >= self._flush_interval
        )

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
        """Publish the pending updates; returns how many. Transient failures are retried; the
        set is kept until it is out.

        Complete (outside a stream: behind, the timer, a stop): every pending update, every
        later period a change reaches through a prefix sum, then the commit time they cover is
        recorded in the partitions' positions.

        `live` (after a batch, caught up or keeping up with a stream): the months changed go
        out at once; their quarters, halves and years, and the later periods, follow with a
        complete publication `complete_every` after the last one, as does recording what is
        published. A month's change is a quarter's, a half's and a year's too, and reaches
        every later month that has a bucket: sending all of them after every batch was about
        three quarters of a live publication's updates, more than scoring computes at 2,000
        events/s of the ordinary mix on this machine (docs/scoring.md, When updates go out)."""
        self._partitions = partitions
        if not live or len(self._pending.changed) >= self._max_pending:
            if self._completing is not None and not self._following_up:
                self._completing.cancel()  # this one takes what it was to publish
            return await self._complete()
        async with self._living:
            return await self._live()

    async def summaries(self) -> None:
        """Wait for the complete publication following the live ones (tests; shutdown)."""
        if self._completing is not None:
            await asyncio.gather(self._completing, return_exceptions=True)

    async def _live(self) -> int:
        taken, self._pending = self._pending, _Pending()
        self._last_flush = self._wall()
        if taken.through is None:
            return 0
        now, later = self._scorer.split_live(taken.changed)
        try:
            published = await self._send(now, later=False)
        except BaseException:
            taken.merge(self._pending)
            self._pending = taken
            raise
        self._observe(self._metrics.event_to_score, taken.sent_at)
        self._later.merge(_Pending(later, taken.sent_at, taken.through))
        self._metrics.scores_pending.set(self.pending)
        self._metrics.scores_published.inc(published)
        logger.info(
            "published %d score updates of the months of %d (entity, period) pairs for %d "
            "events; their quarters, halves, years and later periods follow",
            published,
            len(taken.changed),
            len(taken.sent_at),
        )
        if self._completing is None or self._completing.done():
            self._completing = asyncio.create_task(self._follow(), name="complete publication")
            self._completing.add_done_callback(report_failure)
        return published

    async def _follow(self) -> int:
        """The complete publication after live ones, `complete_every` after the last."""
        wait = self._last_complete + self._complete_every - self._wall()
        if wait.total_seconds() > 0:
            await self._sleep(wait.total_seconds())
        self._following_up = True
        try:
            return await self._complete()
        finally:
            self._following_up = False

    async def _complete(self) -> int:
        async with self._completing_one:
            # No live publication half done: what each took is published or back in a set,
            # so the mark below covers nothing that is neither.
            async with self._living:
                taken, self._pending = self._pending, _Pending()
                later, self._later = self._later, _Pending()
            now = self._wall()
            self._last_flush = self._last_complete = now
            publishing = _Pending()
            publishing.merge(later)
            publishing.merge(taken)
            if publishing.through is None:
                return 0
            span = BatchSpan.of("score publication", (), [])
            try:
                published = await self._send(publishing.changed, later=True)
                self._observe(self._metrics.event_to_score, taken.sent_at)
                self._observe(self._metrics.event_to_summary, publishing.sent_at)
                through = publishing.through
                async with self._writing:
                    await self._retry.run(
                        lambda: self._store.mark_scored(self._group, self._partitions, through),
                        span,
                    )
            except BaseException:
                taken.merge(self._pending)
                self._pending = taken
                later.merge(self._later)
                self._later = later
                raise
        self._metrics.scores_pending.set(self.pending)
        self._metrics.scores_published.inc(published)
        logger.info(
            "published %d score updates of %d (entity, period) pairs for %d events",
            published,
            len(publishing.changed),
            len(publishing.sent_at),
        )
        return published

    async def _send(self, changed: Changed, *, later: bool) -> int:
        """Compute and send the updates of `changed`, `chunk_pairs` pairs at a time, each
        chunk computed and sent while holding `_sending`."""
        span = BatchSpan.of("score publication", (), [])
        started = time.perf_counter()
        as_of = self._stream_time()
        published = 0
        for chunk in chunked(changed, self._chunk_pairs):
            async with self._sending:
                messages = await self._retry.run(
                    partial(self._scorer.messages, chunk, as_of, later=later), span
                )
                await self._retry.run(partial(self._output.send_all, messages), span)
            published += len(messages)
            del messages  # before the next chunk's are built
        self._metrics.score_flush_seconds.observe(time.perf_counter() - started)
        return published

    def _observe(self, histogram: Histogram, sent_at: Iterable[float]) -> None:
        acknowledged = self._wall().timestamp()
        for sent in sent_at:
            histogram.observe(max(0.0, acknowledged - sent))


def report_failure(task: asyncio.Task[int]) -> None:
    """A publication running as a task of its own that failed for good: its updates stay
    pending for the next one (`ScorePublication` keeps them); say why."""
    if not task.cancelled() and task.exception() is not None:
        logger.error("score publication failed; retried later", exc_info=task.exception())


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
