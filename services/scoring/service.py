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
"""

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from shared import retry
from shared.batch_span import BatchSpan
from shared.events import ContractViolation, RejectReason
from shared.kafka_output import Outbound, OutputPort, dead_letter_outbound
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.kpi.survey_boxes import DEFAULT_BOXES, SurveyBox
from shared.messages import DeadLetter
from shared.watermarks import InputClocks

from .domain.batch import (
    BatchOutcome,
    InputRecord,
    Position,
    apply_batch,
    batch_facts,
    needed_buckets,
)
from .domain.model import Deltas
from .metrics import ScoringMetrics
from .ports import (
    BatchWrite,
    CommitTooLong,
    CounterDocument,
    PartitionCommit,
    StaleOffsets,
    StateStore,
)
from .publication import (
    CHUNK_PAIRS,
    COMPLETE_EVERY,
    FLUSH_INTERVAL,
    MAX_PENDING,
    Changed,
    ScorePublication,
    Scorer,
    report_failure,
)

logger = logging.getLogger(__name__)
PartitionKey = tuple[str, int]
Sleep = Callable[[float], Awaitable[None]]
WallClock = Callable[[], datetime]
IDLE_AFTER = timedelta(seconds=30)
MAX_BATCH = 50_000
DETAIL_CHARS = 500  # an error's message in a dead letter's detail, cut to stay readable


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class HandleResult:
    """What the consumer must do after a batch: partitions to re-read from an offset."""

    seek: dict[PartitionKey, int | None] = field(default_factory=dict)
    applied: int = 0


def counter_documents(outcome: BatchOutcome, calendar: FiscalCalendar) -> list[CounterDocument]:
    """Group the batch's deltas into one increment per counter document (entity, fiscal year)."""
    grouped: dict[tuple[str, str], dict[str, int]] = {}
    for (entity, bucket, component), delta in outcome.deltas.items():
        fiscal_year = calendar.bucket_fiscal_year(bucket)
        grouped.setdefault((entity, fiscal_year), {})[f"{bucket}/{component}"] = delta
    return [
        CounterDocument(f"{entity}|{fy}", entity, fy, increments)
        for (entity, fy), increments in sorted(grouped.items())
    ]


def _dead_letter(record: InputRecord, reason: RejectReason, detail: str) -> Outbound:
    letter = DeadLetter.from_violation(
        record.raw,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        violation=ContractViolation(reason, detail),
        received_at=datetime.now(UTC),
    )
    return dead_letter_outbound(letter)


def _stamps(batch: Sequence[InputRecord]) -> dict[PartitionKey, datetime | None]:
    """Each partition's latest ingest watermark in the batch (None: the records carried none)."""
    stamps: dict[PartitionKey, datetime | None] = {}
    for record in batch:
        key = (record.topic, record.partition)
        stamp = record.event.watermark if record.event is not None else None
        stamps[key] = _later(stamps.get(key), stamp)
    return stamps


def _span(what: str, batch: Sequence[InputRecord]) -> BatchSpan:
    return BatchSpan.of(
        what,
        ((r.topic, r.partition, r.offset) for r in batch),
        [r.event.event.event_id for r in batch if r.event is not None],
    )


def _poisoned(record: InputRecord, position: Position, error: Exception) -> BatchOutcome:
    """A batch of one poisoned record: nothing applied, the position moved past it (its
    channels' marks and watermarks kept, so a re-drive of it is applied), its dead letter."""
    detail = f"scoring could not process the record: {type(error).__name__}: {error}"
    return BatchOutcome(
        deltas=Deltas(),
        records={},
        positions={
            (record.topic, record.partition): Position(
                record.offset + 1, dict(position.source_marks), dict(position.watermarks)
            )
        },
        rejected=[(record, RejectReason.PROCESSING_ERROR, detail[:DETAIL_CHARS])],
    )


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _latest(batch: Sequence[InputRecord]) -> datetime | None:
    times = [r.event.event.occurred_at for r in batch if r.event is not None]
    return max(times) if times else None


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
        chunk_pairs: int = CHUNK_PAIRS,
        complete_every: timedelta = COMPLETE_EVERY,
        survey_boxes: Sequence[SurveyBox] = DEFAULT_BOXES,
        publication_sleep: Sleep = asyncio.sleep,
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
            chunk_pairs=chunk_pairs,
            complete_every=complete_every,
            wall=wall,
            stream_time=lambda: self._latest,
            writing=self._writing,
            sleep=publication_sleep,
        )

    @property
    def stream_time(self) -> datetime | None:
        """The latest event time applied: what scores are `as_of`."""
        return self._latest

    async def assign(self, partitions: Collection[PartitionKey]) -> dict[PartitionKey, int | None]:
        """Load the stored positions of newly assigned partitions; return where to seek
        (None: from the beginning, nothing stored yet)."""
        stored = await self._store.positions(self._group, partitions)
        self._latest = _later(self._latest, await self._store.stream_time(self._group))
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
            position = self._positions.get(key)
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
        them for `flush_interval`."""
        if backlog is not None:
            self._clocks.set_backlog(backlog)
        result = HandleResult()
        batch = self._in_order(records, result)
        if not batch:
            return result
        try:
            start = 0
            while start < len(batch):  # each cut is a prefix of what is left of every partition
                cut = batch[start : start + self._chunk]
                result.applied += await self._settle(cut)
                start += len(cut)
        except StaleOffsets:
            logger.warning("another instance committed these partitions; re-reading")
            keys = {(r.topic, r.partition) for r in batch} & set(self._positions)
            result.seek.update(await self.assign(keys))
            self._metrics.fenced.inc()
        if not any(self._clocks.has_backlog(key) for key in self._positions):
            await self.publish(live=True)
        else:
            self._publish_beside(keeping_up=left is not None and left < self._max_chunk)
        return result

    def _publish_beside(self, *, keeping_up: bool) -> None:
        """With records left to read, publication runs beside the next batches rather than
        before them: its CPU fills the time a batch waits for its commit. One at a time: what
        the batches add meanwhile goes out with the next. Keeping up (less than a batch left:
        a steady stream), the next starts as soon as the last is out, sending the months
        changed, with the rest following in a complete publication (`complete_every`); behind
        by more, everything every `flush_interval`, so that a long backlog publishes each
        update a few times only."""
        running = self._beside
        due = self._publication.due(keeping_up, live=keeping_up)
        if (running is not None and not running.done()) or not due:
            return
        self._beside = asyncio.create_task(
            self._publication.flush(set(self._positions), live=keeping_up),
            name="score publication",
        )
        self._beside.add_done_callback(report_failure)

    async def published(self, *, following: bool = True) -> None:
        """Wait for a publication running beside the batches, and (`following`) the complete
        one following live publications (tests; shutdown)."""
        await self._beside_done()
        if following:
            await self._publication.summaries()

    async def _beside_done(self) -> None:
        if self._beside is not None:
            await asyncio.gather(self._beside, return_exceptions=True)

    async def publish(self, *, caught_up: bool = True, live: bool = False) -> int:
        """Publish the pending score updates when they are due (always once caught up);
        returns the messages sent. The service calls it after each batch it is caught up
        after (`live`: the months changed, the rest following within `complete_every`); a
        timer calls it too (`caught_up=False`), so that updates recovered after a crash go out
        when no batch comes, and the service on its way down (complete)."""
        if not self._publication.due(caught_up, live=live):
            await self._beside_done()
            return 0
        # after one running beside
        return await self._publication.flush(set(self._positions), live=live)

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
                functools.partial(self._apply, batch), _span("scoring batch", batch)
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
                functools.partial(self._apply, batch, poison=exc), _span("scoring record", batch)
            )
        # Grow back by a quarter after each commit that went through, up to the largest batch.
        self._chunk = min(self._max_chunk, self._chunk + max(1, self._chunk // 4))
        return applied

    async def _apply(self, batch: Sequence[InputRecord], poison: Exception | None = None) -> int:
        """Apply `batch` in one transaction; with `poison`, dead-letter its one record instead."""
        started = time.perf_counter()
        self.in_flight = True
        try:
            keys = {(r.topic, r.partition) for r in batch}
            if not keys <= set(self._positions):
                # Revoked while the batch waited for a retry: another instance owns it now.
                raise StaleOffsets("partitions were revoked while the batch waited")
            if poison is None:
                facts = batch_facts(batch, self._calendar)
                state = await self._store.records(needed_buckets(batch, self._calendar, facts))
                outcome = apply_batch(
                    batch,
                    positions={key: self._positions[key] for key in keys},
                    record_state=state,
                    calendar=self._calendar,
                    prepared=facts,
                    survey_boxes=self._survey_boxes,
                )
                applied = batch
            else:
                [record] = batch
                outcome = _poisoned(
                    record, self._positions[(record.topic, record.partition)], poison
                )
                applied = []
                self._log_poisoned(record, poison)
            now = self._wall()
            clocks = self._clocks
            clocks.observe(_stamps(batch), now)
            latest = _later(self._latest, _latest(applied))
            write = BatchWrite(
                counters=counter_documents(outcome, self._calendar),
                records=outcome.records,
                partitions=[
                    PartitionCommit(
                        topic,
                        partition,
                        self._positions[(topic, partition)].next_offset,
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

            async def dead_letters() -> None:
                await self._output.send_all(
                    [_dead_letter(*rejected) for rejected in outcome.rejected]
                )

            async with self._writing:  # never beside a publication marking positions
                await self._store.commit(write, dead_letters)
        finally:
            self.in_flight = False
        self._publication.add(changed, applied, now)
        for key in keys:
            self._positions[key] = outcome.positions[key]
        self._latest = latest
        self._metrics.observe(outcome, write, time.perf_counter() - started, write.low)
        return outcome.applied

    def _log_poisoned(self, record: InputRecord, error: Exception) -> None:
        logger.error(
            "dead-lettered %s[%d]@%d: processing_error",
            record.topic,
            record.partition,
            record.offset,
            exc_info=error,
            extra=_span("scoring record", [record]).log_fields()
            | {"reason": RejectReason.PROCESSING_ERROR.value},
        )
