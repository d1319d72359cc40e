"""The scoring application service: one batch of canonical events in, one transaction out.

Positions live in MongoDB with the state, never in Kafka: on assignment the service seeks to the
stored offsets, and a batch whose first offset is not where the state stands is dropped and the
partition re-read from there (after a failure, a rebalance, or a zombie's commit).

A `TransientError` (a lost database or broker, an aborted transaction) retries the batch with
backoff. Any other error means a record the service cannot process: the batch is bisected,
each half applied in its own transaction, down to the records that fail alone; each of those is
committed as a batch of its own that applies nothing, moves its partition's position past it
and publishes its dead letter (`processing_error`) before the commit, as `too_late` rejects are.
So positions still move exactly once, and one poisoned record never blocks its partition.

With `overlap`, while records are left to read, `handle` returns once a batch's commit has
started: the next batch is applied in memory meanwhile, on top of that commit's outcome, and is
dropped (every partition re-read from its state) if that commit fails (docs/scoring.md,
"Commits beside the next batch"). Caught up, a batch is committed before `handle` returns.
"""

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from shared import retry
from shared.events import RejectReason
from shared.kafka_output import OutputPort
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.kpi.survey_boxes import DEFAULT_BOXES, SurveyBox
from shared.watermarks import InputClocks

from .batch_writes import (
    PartitionKey,
    Prepared,
    Running,
    counter_documents,
    dead_letter,
    later,
    latest_of,
    overlay,
    poisoned,
    retrieved,
    span,
    stamps,
)
from .domain.batch import InputRecord, Position, apply_batch, batch_facts, needed_buckets
from .metrics import ScoringMetrics
from .ports import (
    BatchWrite,
    CommitTooLong,
    PartitionCommit,
    StaleOffsets,
    StateStore,
)
from .publication import FLUSH_INTERVAL, MAX_PENDING, Changed, ScorePublication, Scorer

logger = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[None]]
WallClock = Callable[[], datetime]
IDLE_AFTER = timedelta(seconds=30)
MAX_BATCH = 50_000


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _report_failure(task: "asyncio.Task[int]") -> None:
    """A publication beside the batches that failed for good: its updates stay pending for the
    next one (ScorePublication.flush keeps them); say why."""
    if not task.cancelled() and task.exception() is not None:
        logger.error("score publication failed; retried later", exc_info=task.exception())


@dataclass
class HandleResult:
    """What the consumer must do after a batch: partitions to re-read from an offset."""

    seek: dict[PartitionKey, int | None] = field(default_factory=dict)
    applied: int = 0


class ScoringService:
    """Applies batches to the state store with an exactly-once effect."""

    def __init__(
        self,
        *,
        store: StateStore,
        output: OutputPort,
        calendar: FiscalCalendar,
        scorer: Scorer,
        metrics: ScoringMetrics,
        group: str,
        sleep: Sleep = asyncio.sleep,
        max_backoff_s: float = 10.0,
        idle_after: timedelta = IDLE_AFTER,
        wall: WallClock = _utc_now,
        max_batch: int = MAX_BATCH,
        flush_interval: timedelta = FLUSH_INTERVAL,
        max_pending: int = MAX_PENDING,
        survey_boxes: Sequence[SurveyBox] = DEFAULT_BOXES,
        overlap: bool = False,
    ) -> None:
        self._store = store
        self.scorer = scorer  # a generation switch compares the old one's scores with the new
        self._survey_boxes = tuple(survey_boxes)  # the catalogue's survey box counters
        self._output = output
        self._calendar = calendar
        self._metrics = metrics
        self._retry = retry.RetryPolicy(
            max_backoff_s,
            sleep,
            on_retry=metrics.retries.inc,
            on_failure=metrics.processing_errors.inc,
            give_up_on=(StaleOffsets,),
        )
        self._group = group
        self._positions: dict[PartitionKey, Position] = {}
        self._clocks: InputClocks[PartitionKey] = InputClocks(idle_after)
        # Records per commit: the largest batch, halved whenever a commit is too long for the
        # database, grown back by a quarter after each commit that goes through.
        self._max_chunk = max_batch
        self._chunk = max_batch
        self._wall = wall
        self._latest: datetime | None = None  # the latest event time applied
        self.in_flight = False
        self._beside: asyncio.Task[int] | None = None
        self._overlap = overlap  # commit a batch beside the next while behind (module docstring)
        self._running: Running | None = None
        self._careful = False  # after a commit beside the batches failed: the next one alone
        self._writing = asyncio.Lock()
        self._publication = ScorePublication(
            scorer=scorer,
            store=store,
            output=output,
            metrics=metrics,
            group=group,
            retry_policy=self._retry,
            flush_interval=flush_interval,
            max_pending=max_pending,
            wall=wall,
            stream_time=lambda: self._latest,
            writing=self._writing,
        )

    @property
    def stream_time(self) -> datetime | None:
        """The latest event time applied: what scores are `as_of`."""
        return self._latest

    async def assign(self, partitions: Collection[PartitionKey]) -> dict[PartitionKey, int | None]:
        """Load the stored positions of newly assigned partitions; return where to seek
        (None: from the beginning, nothing stored yet)."""
        stored = await self._store.positions(self._group, partitions)
        self._latest = later(self._latest, await self._store.stream_time(self._group))
        now = self._wall()
        for key in partitions:
            position = stored.get(key)
            self._positions[key] = (
                Position(
                    position.next_offset,
                    dict(position.source_marks),
                    dict(position.watermarks),
                )
                if position is not None
                else Position(None, {})
            )
            self._clocks.assign(key, None if position is None else position.low, now)
        await self._publication.recover(partitions)
        return {key: self._positions[key].next_offset for key in partitions}

    def revoke(self, partitions: Collection[PartitionKey]) -> None:
        """Forget partitions this instance no longer owns, and the state documents kept in
        memory for them: their next owner writes them now."""
        for key in partitions:
            self._positions.pop(key, None)
            self._clocks.revoke(key)
        if partitions:
            self._store.forget()

    def _in_order(self, records: Sequence[InputRecord], result: HandleResult) -> list[InputRecord]:
        """Keep records that continue exactly where the state stands; seek the others."""
        first: dict[PartitionKey, int] = {}
        for record in records:
            first.setdefault((record.topic, record.partition), record.offset)
        keep: set[PartitionKey] = set()
        for key, offset in first.items():
            position = self._position(key)
            if position is None:
                continue  # not ours (any more)
            if position.next_offset is None or position.next_offset == offset:
                keep.add(key)
            else:
                result.seek[key] = position.next_offset
        return [r for r in records if (r.topic, r.partition) in keep]

    async def handle(
        self,
        records: Sequence[InputRecord],
        backlog: Mapping[PartitionKey, bool] | None = None,
        *,
        left: int | None = None,
    ) -> HandleResult:
        """Apply a batch; retry failures with backoff; re-read partitions that are out of step.

        `backlog` says, for each assigned partition, whether records are left to read on the
        broker: a partition with a backlog holds the low watermark back. `left` is how many
        (None: not known): under one batch's worth, scoring keeps up with its input, and
        publishes its updates as soon as the last publication is out rather than coalescing
        them for `flush_interval`. With `overlap` and records left to read, the batch's commit
        may still be running when this returns (module docstring)."""
        if backlog is not None:
            self._clocks.set_backlog(backlog)
        result = HandleResult()
        batch = self._in_order(records, result)
        behind = any(self._clocks.has_backlog(key) for key in self._positions)
        if batch and self._overlap and behind and not self._careful and len(batch) <= self._chunk:
            await self._beside_running(batch, result)
        elif await self._finish_running(result):
            await self._one_by_one(batch, result)
        if not any(self._clocks.has_backlog(key) for key in self._positions):
            await self._finish_running(result)
            await self.publish()
        else:
            self._publish_beside(keeping_up=left is not None and left < self._max_chunk)
        return result

    async def _one_by_one(self, batch: Sequence[InputRecord], result: HandleResult) -> None:
        """Apply the batch in chunks, each committed before the next is applied."""
        if not batch:
            return
        try:
            start = 0
            while start < len(batch):  # each cut is a prefix of what is left of every partition
                cut = batch[start : start + self._chunk]
                result.applied += await self._settle(cut)
                start += len(cut)
            self._careful = False
        except StaleOffsets:
            await self._fenced({(r.topic, r.partition) for r in batch}, result)

    async def _fenced(self, keys: Collection[PartitionKey], result: HandleResult) -> None:
        logger.warning("another instance committed these partitions; re-reading")
        result.seek.update(await self.assign(set(keys) & set(self._positions)))
        self._metrics.fenced.inc()

    async def _beside_running(self, batch: Sequence[InputRecord], result: HandleResult) -> None:
        """Apply the batch in memory while the commit before it runs, then start its own."""
        running = self._running
        try:
            prepared = await self._prepare(
                batch, ahead=None if running is None else running.prepared
            )
        except Exception:  # noqa: BLE001 - applied alone below, which retries, splits or bisects
            if await self._finish_running(result):
                await self._one_by_one(batch, result)
            return
        if running is not None:
            self._metrics.overlapped.inc()
        if not await self._finish_running(result):
            self._metrics.overlap_dropped.inc()
            return  # applied on top of a commit that failed: dropped, and read again
        task = asyncio.create_task(self._commit_retrying(prepared), name="scoring commit")
        task.add_done_callback(retrieved)  # awaited by the next batch, or by no one at the end
        self._running = Running(prepared, task)
        result.applied += len(prepared.applied)

    async def _commit_retrying(self, prepared: Prepared) -> None:
        """Commit, retrying transient errors with the same write (the fence keeps its state)."""
        await self._retry.run(
            functools.partial(self._commit, prepared), span("scoring batch", prepared.batch)
        )

    async def running(self) -> None:
        """Wait for a commit running beside the batches (its failure is the next batch's)."""
        if self._running is not None:
            await asyncio.wait([self._running.task])

    async def _finish_running(self, result: HandleResult) -> bool:
        """Wait for the commit running beside the batches; whether it went through. If it did
        not, every assigned partition is re-read from where its state stands (`result.seek`),
        and the next batch is applied alone."""
        running = self._running
        if running is None:
            return True
        self._running = None
        try:
            await running.task
        except StaleOffsets:
            await self._fenced(running.prepared.keys, result)
        except CommitTooLong:
            self._chunk = max(1, len(running.prepared.batch) // 2)
            self._metrics.splits.inc()
            logger.warning(
                "a commit of %d records was too long for the database; re-reading them, and "
                "cutting batches to %d records",
                len(running.prepared.batch),
                self._chunk,
            )
        except Exception:  # noqa: BLE001 - not transient: until_done logged and counted it
            self._careful = True  # applied alone, so that a poisoned record is found
        else:
            return True
        for key, position in self._positions.items():
            result.seek.setdefault(key, position.next_offset)
        return False

    def _publish_beside(self, *, keeping_up: bool) -> None:
        """With records left to read, publication runs beside the next batches rather than
        before them: its CPU fills the time a batch waits for its commit. One at a time: what
        the batches add meanwhile goes out with the next. Keeping up (less than a batch left:
        a steady stream), the next starts as soon as the last is out; behind by more, every
        `flush_interval`, so that a long backlog publishes each update a few times only."""
        running = self._beside
        due = self._publication.due(keeping_up)
        if (running is not None and not running.done()) or not due:
            return
        self._beside = asyncio.create_task(
            self._publication.flush(set(self._positions)), name="score publication"
        )
        self._beside.add_done_callback(_report_failure)

    async def published(self) -> None:
        """Wait for a commit and a publication running beside the batches (tests; shutdown;
        a generation switch)."""
        await self.running()
        if self._beside is not None:
            await asyncio.gather(self._beside, return_exceptions=True)

    async def publish(self, *, caught_up: bool = True) -> int:
        """Publish the pending score updates when they are due (always once caught up);
        returns the messages sent. The service calls it after each batch; a timer calls it
        too (`caught_up=False`), so that updates recovered after a crash go out when no batch
        comes, and the service on its way down (after a commit running beside the batches)."""
        if caught_up:
            await self.running()
        if not self._publication.due(caught_up):
            await self.published()
            return 0
        return await self._publication.flush(set(self._positions))  # after one running beside

    @property
    def state_store(self) -> StateStore:
        """The state this service writes (one generation's)."""
        return self._store

    @property
    def pending_scores(self) -> int:
        """(entity, period) pairs whose score updates wait to be published."""
        return self._publication.pending

    async def _settle(self, batch: Sequence[InputRecord]) -> int:
        """Apply the batch, retrying transient errors; a commit too long for the database is
        split in two, and later batches are cut smaller; on any other error, bisect it and
        dead-letter the records that fail alone. Returns the events applied."""
        try:
            applied = await self._retry.run(
                functools.partial(self._apply, batch), span("scoring batch", batch)
            )
        except StaleOffsets:
            raise
        except CommitTooLong:
            if len(batch) == 1:
                raise  # one record is the least a commit can hold: let it be a poison
            middle = len(batch) // 2
            self._chunk = max(1, middle)
            self._metrics.splits.inc()
            logger.warning(
                "a commit of %d records was too long for the database; splitting it, and "
                "cutting batches to %d records",
                len(batch),
                self._chunk,
            )
            return await self._settle(batch[:middle]) + await self._settle(batch[middle:])
        except Exception as exc:  # noqa: BLE001 - not transient: until_done logged and counted it
            if len(batch) > 1:
                middle = len(batch) // 2
                return await self._settle(batch[:middle]) + await self._settle(batch[middle:])
            return await self._retry.run(
                functools.partial(self._apply, batch, poison=exc), span("scoring record", batch)
            )
        # Grow back by a quarter after each commit that went through, up to the largest batch.
        self._chunk = min(self._max_chunk, self._chunk + max(1, self._chunk // 4))
        return applied

    async def _apply(self, batch: Sequence[InputRecord], poison: Exception | None = None) -> int:
        """Apply `batch` in one transaction; with `poison`, dead-letter its one record instead."""
        return await self._commit(await self._prepare(batch, poison=poison))

    def _position(self, key: PartitionKey) -> Position | None:
        """Where a partition's state stands once the running commit (if any) is stored."""
        position = self._positions.get(key)
        running = self._running
        if position is None or running is None:
            return position
        return running.prepared.outcome.positions.get(key, position)

    async def _prepare(
        self,
        batch: Sequence[InputRecord],
        *,
        poison: Exception | None = None,
        ahead: Prepared | None = None,
    ) -> Prepared:
        """Apply `batch` in memory, on top of `ahead` (a batch whose commit is running), and
        say what its commit writes; with `poison`, dead-letter its one record instead."""
        started = time.perf_counter()
        keys = {(r.topic, r.partition) for r in batch}
        if not keys <= set(self._positions):
            # Revoked while the batch waited for a retry: another instance owns it now.
            raise StaleOffsets("partitions were revoked while the batch waited")
        before = {key: self._position(key) or Position(None, {}) for key in keys}
        if poison is None:
            facts = batch_facts(batch, self._calendar)
            needed = needed_buckets(batch, self._calendar, facts)
            state = await self._store.records(needed)
            if ahead is not None:
                state = overlay(state, ahead.outcome, needed)
            outcome = apply_batch(
                batch,
                positions=before,
                record_state=state,
                calendar=self._calendar,
                prepared=facts,
                survey_boxes=self._survey_boxes,
            )
            applied: Sequence[InputRecord] = batch
        else:
            [record] = batch
            outcome = poisoned(record, before[(record.topic, record.partition)], poison)
            applied = []
            self._logpoisoned(record, poison)
        now = self._wall()
        clocks = self._clocks
        clocks.observe(stamps(batch), now)
        latest = later(self._latest if ahead is None else ahead.latest, latest_of(applied))
        write = BatchWrite(
            counters=counter_documents(outcome, self._calendar),
            records=outcome.records,
            partitions=[
                PartitionCommit(
                    topic,
                    partition,
                    before[(topic, partition)].next_offset,
                    outcome.positions[(topic, partition)].next_offset or 0,
                    outcome.positions[(topic, partition)].source_marks,
                    outcome.positions[(topic, partition)].watermarks,
                    clocks.watermark((topic, partition)),
                    clocks.has_backlog((topic, partition)),
                )
                for topic, partition in sorted(keys)
            ],
            group=self._group,
            committed_at=now,
            idle_after=clocks.idle_after,
            low=clocks.low(now),
            latest=latest,
            earliest=min((r.event.event.occurred_at for r in applied if r.event), default=None),
        )
        changed: Changed = self._publication.changed(outcome) if poison is None else {}
        return Prepared(batch, applied, keys, outcome, write, changed, latest, started)

    async def _commit(self, prepared: Prepared) -> int:
        """Commit a prepared batch in one transaction, its dead letters published before."""
        outcome, write = prepared.outcome, prepared.write
        if not prepared.keys <= set(self._positions):
            # Revoked while the batch waited for a retry: another instance owns it now.
            raise StaleOffsets("partitions were revoked while the batch waited")

        async def dead_letters() -> None:
            await self._output.send_all([dead_letter(*rejected) for rejected in outcome.rejected])

        self.in_flight = True
        try:
            async with self._writing:  # never beside a publication marking positions
                await self._store.commit(write, dead_letters)
        finally:
            self.in_flight = False
        self._publication.add(prepared.changed, prepared.applied, write.committed_at)
        for key in prepared.keys:
            if key in self._positions:  # not revoked meanwhile
                self._positions[key] = outcome.positions[key]
        self._latest = later(self._latest, prepared.latest)
        self._metrics.observe(outcome, write, time.perf_counter() - prepared.started, write.low)
        return outcome.applied

    def _logpoisoned(self, record: InputRecord, error: Exception) -> None:
        logger.error(
            "dead-lettered %s[%d]@%d: processing_error",
            record.topic,
            record.partition,
            record.offset,
            exc_info=error,
            extra=span("scoring record", [record]).log_fields()
            | {"reason": RejectReason.PROCESSING_ERROR.value},
        )
