"""The ingest application service: one batch of upstream records in, outputs acknowledged out.

For every record exactly one of: a canonical event on `kpi.events.v1`, a dead letter on
`kpi.deadletter.v1`, or a counted duplicate. The caller commits the batch's offsets only after
`handle` returns, i.e. after the broker acknowledged every output.

A lost broker or database (`TransientError`) stalls the batch with backoff until it comes back.
Any other error is a record ingest cannot process (a bug, an output the broker or the claims
refuse): the batch is then claimed and published record by record, and each record that still
fails is dead-lettered as `processing_error`, so one poisoned record never blocks its partition.
"""

import asyncio
import functools
import itertools
import logging
import operator
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared import retry, topics
from shared.batch_span import SHOWN_EVENT_IDS, BatchSpan
from shared.events import ContractViolation, RejectReason
from shared.kafka_output import Outbound, OutputPort, dead_letter_outbound
from shared.watermarks import InputClocks

from .claims import Claim, ClaimStore
from .deadletter_log import DeadLetterLog
from .metrics import IngestMetrics, bounded_event_type
from .triage import Accepted, Outcome, Record, Rejected, Triage

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]
PartitionKey = tuple[str, int]
DETAIL_CHARS = 500  # an error's message in a dead letter's detail, cut to stay readable
# Records triaged before their claims and outputs go out, so that the database and the broker
# work while the next chunk is triaged; triage gives them the event loop every YIELD_EVERY.
CHUNK = 2_000
YIELD_EVERY = 250


@dataclass(frozen=True)
class BatchSummary:
    """What one batch did."""

    accepted: int
    rejected: int
    duplicates: int


def _progress(outcomes: Sequence[Outcome]) -> dict[PartitionKey, datetime | None]:
    """Each upstream partition's latest accepted event time in the batch (None: none)."""
    progress: dict[PartitionKey, datetime | None] = {}
    for outcome in outcomes:
        key = (outcome.record.topic, outcome.record.partition)
        if isinstance(outcome, Accepted):
            occurred = outcome.canonical.occurred_at
            current = progress.get(key)
            progress[key] = occurred if current is None else max(current, occurred)
        else:
            progress.setdefault(key, None)
    return progress


def _outbound(outcome: Outcome, stamp: datetime | None) -> Outbound:
    """The outcome's record; a canonical event stamped with the batch's low watermark."""
    if isinstance(outcome, Accepted):
        canonical = outcome.canonical
        owner = canonical.owner
        return Outbound(topics.EVENTS, owner.encode() if owner else None, canonical.encode(stamp))
    return dead_letter_outbound(outcome.dead_letter)


def _span(what: str, outcomes: Iterable[Outcome]) -> BatchSpan:
    """Where the outcomes' records were read: the lowest and highest offset of each run of
    records from one partition (a batch holds a partition's records together), and only the
    event ids a log line shows."""
    records = [o.record for o in outcomes]
    ends = [
        position
        for (topic, partition), run in itertools.groupby(records, key=_partition_of)
        for position in _lowest_and_highest(topic, partition, [r.offset for r in run])
    ]
    shown = itertools.islice(
        (o.canonical.event_id for o in outcomes if isinstance(o, Accepted)), SHOWN_EVENT_IDS + 1
    )
    return BatchSpan.of(what, ends, list(shown))


_partition_of = operator.itemgetter(0, 1)


def _lowest_and_highest(
    topic: str, partition: int, offsets: list[int]
) -> tuple[tuple[str, int, int], tuple[str, int, int]]:
    return (topic, partition, min(offsets)), (topic, partition, max(offsets))


def _event_type(outcome: Outcome) -> str:
    return outcome.canonical.event_type if isinstance(outcome, Accepted) else outcome.event_type


class _EarlierChunkFailed(Exception):
    """A chunk not claimed because an earlier one failed: its error is the batch's."""


@dataclass(frozen=True)
class _Chunk:
    """Part of a batch, and the claiming and publishing of it started while triage went on."""

    done: "asyncio.Future[set[str]]"
    outcomes: list[Outcome]


class IngestPipeline:
    """Triage, de-duplicate and publish batches; retry broker and database failures."""

    def __init__(
        self,
        *,
        triage: Triage,
        claims: ClaimStore,
        output: OutputPort,
        metrics: IngestMetrics,
        clock: Clock,
        max_backoff_s: float = 10.0,
        sleep: Sleep = asyncio.sleep,
        idle_after: timedelta = timedelta(seconds=30),
    ) -> None:
        self._watermarks: InputClocks[PartitionKey] = InputClocks(idle_after)
        self._triage = triage
        self._claims = claims
        self._output = output
        self._metrics = metrics
        self._retry = retry.RetryPolicy(
            max_backoff_s,
            sleep,
            on_retry=metrics.retries.inc,
            on_failure=metrics.processing_errors.inc,
        )
        self._clock = clock
        self._dead_letters = DeadLetterLog(logger)

    @property
    def watermarks(self) -> InputClocks[PartitionKey]:
        """The upstream partitions' event-time progress (shared/watermarks.py)."""
        return self._watermarks

    async def handle(
        self, records: Sequence[Record], backlog: Mapping[PartitionKey, bool] | None = None
    ) -> BatchSummary:
        """Process a batch; returns once every output is acknowledged.

        `backlog` says, for each assigned upstream partition, whether records are left to read.
        Every canonical event is stamped with the low watermark as it stood before this batch:
        every on-time event up to it was published in an earlier batch."""
        started = time.perf_counter()
        now = self._clock()
        if backlog is not None:
            self._watermarks.keep_only(backlog, now)
            self._watermarks.set_backlog(backlog)
        stamp = self._watermarks.low(now)
        outcomes: list[Outcome] = []
        # Each chunk is claimed and published while the next is triaged, one after the other
        # in record order (so the first copy of a key still wins).
        started_work: list[_Chunk] = []
        try:
            for first in range(0, len(records), CHUNK):
                chunk: list[Outcome] = []
                for index, record in enumerate(records[first : first + CHUNK], start=1):
                    chunk.append(self._triaged(record, now))
                    if index % YIELD_EVERY == 0:
                        await asyncio.sleep(0)  # let the claims and sends in flight move on
                outcomes.extend(chunk)
                previous = started_work[-1].done if started_work else None
                work = self._claim_and_send_after(previous, chunk, now, stamp)
                started_work.append(_Chunk(asyncio.ensure_future(work), chunk))
        except BaseException:
            for work_of_chunk in started_work:
                work_of_chunk.done.cancel()
            raise
        self._watermarks.observe(_progress(outcomes), now)
        self._dead_letters.roll(now)
        for outcome in outcomes:
            if isinstance(outcome, Rejected):
                self._dead_letters.log(outcome, now)
        settled, duplicates = await self._publish(outcomes, now, stamp, started_work)
        self._record(records, settled, duplicates, started)
        return BatchSummary(
            accepted=sum(isinstance(o, Accepted) for o in settled) - len(duplicates),
            rejected=sum(isinstance(o, Rejected) for o in settled),
            duplicates=len(duplicates),
        )

    async def _claim(self, outcomes: Sequence[Outcome], now: datetime) -> set[str]:
        accepted = [o for o in outcomes if isinstance(o, Accepted)]
        return await self._claims.claim(
            [Claim(o.canonical.key, o.record.position) for o in accepted], now
        )

    async def _claim_and_send_after(
        self,
        previous: "asyncio.Future[set[str]] | None",
        outcomes: Sequence[Outcome],
        now: datetime,
        stamp: datetime | None,
    ) -> set[str]:
        """A chunk's claims and outputs once the previous chunk's are acknowledged; none if
        the previous chunk failed (the retry of the batch claims in record order again)."""
        if previous is not None:
            await asyncio.wait([previous])
            if previous.cancelled() or previous.exception() is not None:
                raise _EarlierChunkFailed
        return await self._claim_and_send(outcomes, now, stamp)

    async def _claim_and_send(
        self, outcomes: Sequence[Outcome], now: datetime, stamp: datetime | None
    ) -> set[str]:
        """Claim the accepted keys, then publish; returns once every output is acknowledged."""
        duplicates = await self._claim(outcomes, now)
        outputs = [
            _outbound(o, stamp)
            for o in outcomes
            if not (isinstance(o, Accepted) and o.record.position in duplicates)
        ]
        await self._output.send_all(outputs)
        return duplicates

    def _triaged(self, record: Record, now: datetime) -> Outcome:
        try:
            return self._triage(record, now)
        except Exception as exc:  # triage raises nothing for bad data: this is a bug
            self._metrics.processing_errors.inc()
            logger.exception(
                "triage failed on a record",
                extra={
                    "topic": record.topic,
                    "partition": record.partition,
                    "offset": record.offset,
                },
            )
            return self._poisoned(record, "unknown", exc, now)

    def _poisoned(
        self, record: Record, event_type: str, error: Exception, now: datetime
    ) -> Rejected:
        """The record's dead letter with reason `processing_error`, naming the error."""
        detail = f"ingest could not process the record: {type(error).__name__}: {error}"
        violation = ContractViolation(RejectReason.PROCESSING_ERROR, detail[:DETAIL_CHARS])
        return self._triage.reject(record, violation, now, event_type)

    async def _publish(
        self,
        outcomes: Sequence[Outcome],
        now: datetime,
        stamp: datetime | None,
        started: "list[_Chunk] | None" = None,
    ) -> tuple[Sequence[Outcome], set[str]]:
        """Claim and publish the batch; on an error a retry would not fix, record by record.

        `started` is the first attempt, made chunk by chunk while the batch was triaged. What
        it got acknowledged stays done; a retry claims and publishes from the first chunk that
        failed to the end, in record order, so a later copy of a key still loses to the first
        (a claim is idempotent for its claimant)."""
        done: set[str] = set()
        remaining: list[Outcome] = list(outcomes)

        async def attempt() -> set[str]:
            nonlocal remaining
            if started:
                chunks = list(started)
                started.clear()
                await asyncio.wait([c.done for c in chunks])
                for index, chunk in enumerate(chunks):
                    if chunk.done.cancelled() or chunk.done.exception() is not None:
                        remaining = [o for c in chunks[index:] for o in c.outcomes]
                        chunk.done.result()  # raises the chunk's error
                    done.update(chunk.done.result())
                remaining = []
                return done
            done.update(await self._claim_and_send(remaining, now, stamp))
            remaining = []
            return done

        try:
            duplicates = await self._retry.run(attempt, _span("ingest batch", outcomes))
        except Exception:  # noqa: BLE001 - not transient: until_done logged and counted it
            return await self._isolate(outcomes, now, stamp)
        return outcomes, duplicates

    async def _isolate(
        self, outcomes: Sequence[Outcome], now: datetime, stamp: datetime | None
    ) -> tuple[list[Outcome], set[str]]:
        """Each record on its own; one that still fails is dead-lettered as processing_error.

        Claims are idempotent for their claimant and consumers drop a repeated event by its
        key, so what the failed batch attempt claimed or published is harmless here."""
        settled: list[Outcome] = []
        duplicates: set[str] = set()
        for outcome in outcomes:
            span = _span("ingest record", [outcome])
            try:
                duplicates |= await self._retry.run(
                    functools.partial(self._claim_and_send, [outcome], now, stamp), span
                )
            except Exception as exc:  # noqa: BLE001 - not transient: this record is the poison
                poisoned = self._poisoned(outcome.record, _event_type(outcome), exc, now)
                logger.warning(
                    "dead-lettered: processing_error",
                    extra=span.log_fields() | {"reason": RejectReason.PROCESSING_ERROR.value},
                )
                # A dead letter the broker refuses too fails loudly: nothing else is left.
                await self._retry.run(
                    functools.partial(self._claim_and_send, [poisoned], now, stamp), span
                )
                outcome = poisoned  # noqa: PLW2901 - it is now the record's outcome
            settled.append(outcome)
        return settled, duplicates

    def _record(
        self,
        records: Sequence[Record],
        outcomes: Sequence[Outcome],
        duplicates: set[str],
        started: float,
    ) -> None:
        metrics = self._metrics
        acked_ms = time.time() * 1000
        # Counted per label and added once: a batch has a handful of labels and 10,000 records.
        rejected: Counter[tuple[str, str]] = Counter()
        accepted: Counter[str] = Counter()
        repeated: Counter[str] = Counter()
        for outcome in outcomes:
            if isinstance(outcome, Rejected):
                label = bounded_event_type(outcome.event_type)
                rejected[label, outcome.dead_letter.reason.value] += 1
            elif outcome.record.position in duplicates:
                repeated[outcome.canonical.event_type] += 1
            else:
                accepted[outcome.canonical.event_type] += 1
        for (label, reason), count in rejected.items():
            metrics.rejected.labels(label, reason).inc(count)
        for label, count in accepted.items():
            metrics.accepted.labels(label).inc(count)
        for label, count in repeated.items():
            metrics.duplicates.labels(label).inc(count)
        for record in records:
            if record.timestamp_ms is not None:
                metrics.latency_seconds.observe(max(0.0, (acked_ms - record.timestamp_ms) / 1000))
        metrics.batch_records.observe(len(records))
        metrics.batch_seconds.observe(time.perf_counter() - started)
