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
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared import retry, topics
from shared.batch_span import BatchSpan
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
# Records triaged before their claims are sent, so the database works while triage goes on.
CLAIM_CHUNK = 500


@dataclass(frozen=True)
class BatchSummary:
    """What one batch did."""

    accepted: int
    rejected: int
    duplicates: int


def _stamped(outcome: Outcome, stamp: datetime | None) -> Outcome:
    if stamp is None or not isinstance(outcome, Accepted):
        return outcome
    return Accepted(outcome.record, outcome.event.model_copy(update={"watermark": stamp}))


def _progress(outcomes: Sequence[Outcome]) -> dict[PartitionKey, datetime | None]:
    """Each upstream partition's latest accepted event time in the batch (None: none)."""
    progress: dict[PartitionKey, datetime | None] = {}
    for outcome in outcomes:
        key = (outcome.record.topic, outcome.record.partition)
        if isinstance(outcome, Accepted):
            occurred = outcome.event.event.occurred_at
            current = progress.get(key)
            progress[key] = occurred if current is None else max(current, occurred)
        else:
            progress.setdefault(key, None)
    return progress


def _outbound(outcome: Outcome) -> Outbound:
    if isinstance(outcome, Accepted):
        event = outcome.event.event
        owner = event.agent_id or event.branch_id
        return Outbound(
            topics.EVENTS,
            owner.encode() if owner else None,
            outcome.event.model_dump_json().encode(),
        )
    return dead_letter_outbound(outcome.dead_letter)


def _span(what: str, outcomes: Iterable[Outcome]) -> BatchSpan:
    listed = list(outcomes)
    return BatchSpan.of(
        what,
        ((o.record.topic, o.record.partition, o.record.offset) for o in listed),
        [o.event.event.event_id for o in listed if isinstance(o, Accepted)],
    )


def _event_type(outcome: Outcome) -> str:
    return outcome.event.event.event_type if isinstance(outcome, Accepted) else outcome.event_type


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
        # The claims of each chunk go to the database while the next chunk is triaged, one
        # after the other in record order (so the first copy of a key still wins).
        claiming: list[asyncio.Future[set[str]]] = []
        try:
            for start in range(0, len(records), CLAIM_CHUNK):
                chunk = [
                    _stamped(self._triaged(r, now), stamp)
                    for r in records[start : start + CLAIM_CHUNK]
                ]
                outcomes.extend(chunk)
                previous = claiming[-1] if claiming else None
                claiming.append(asyncio.ensure_future(self._claim_after(previous, chunk, now)))
                await asyncio.sleep(0)  # let the claim go out before the next chunk
        except BaseException:
            for future in claiming:
                future.cancel()
            raise
        self._watermarks.observe(_progress(outcomes), now)
        self._dead_letters.roll(now)
        for outcome in outcomes:
            if isinstance(outcome, Rejected):
                self._dead_letters.log(outcome, now)
        settled, duplicates = await self._publish(outcomes, now, claiming)
        self._record(records, settled, duplicates, started)
        return BatchSummary(
            accepted=sum(isinstance(o, Accepted) for o in settled) - len(duplicates),
            rejected=sum(isinstance(o, Rejected) for o in settled),
            duplicates=len(duplicates),
        )

    async def _claim_after(
        self,
        previous: "asyncio.Future[set[str]] | None",
        outcomes: Sequence[Outcome],
        now: datetime,
    ) -> set[str]:
        """Claim the accepted outcomes' keys once the previous chunk's claim is settled."""
        if previous is not None:
            await asyncio.wait([previous])
        return await self._claim(outcomes, now)

    async def _claim(self, outcomes: Sequence[Outcome], now: datetime) -> set[str]:
        accepted = [o for o in outcomes if isinstance(o, Accepted)]
        return await self._claims.claim(
            [Claim(o.event.key, o.record.position) for o in accepted], now
        )

    async def _claim_and_send(
        self,
        outcomes: Sequence[Outcome],
        now: datetime,
        claimed: "list[asyncio.Future[set[str]]] | None" = None,
    ) -> set[str]:
        """Claim (or take the claims made while triaging) and publish; every output acked.

        `claimed` is the first attempt's claims, made chunk by chunk while the batch was triaged;
        a chunk's error is this attempt's error. A retry claims the whole batch again: a claim
        is idempotent for its claimant, so the keys a chunk did claim come back as its own, and
        a later copy of a key still loses to the first."""
        if claimed:
            futures = list(claimed)
            claimed.clear()
            results = await asyncio.gather(*futures, return_exceptions=True)
            duplicates: set[str] = set()
            for result in results:
                if isinstance(result, BaseException):
                    raise result
                duplicates |= result
        else:
            duplicates = await self._claim(outcomes, now)
        outputs = [
            _outbound(o)
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
        claimed: "list[asyncio.Future[set[str]]] | None" = None,
    ) -> tuple[Sequence[Outcome], set[str]]:
        """Claim and publish the batch; on an error a retry would not fix, record by record."""
        try:
            duplicates = await self._retry.run(
                functools.partial(self._claim_and_send, outcomes, now, claimed),
                _span("ingest batch", outcomes),
            )
        except Exception:  # noqa: BLE001 - not transient: until_done logged and counted it
            return await self._isolate(outcomes, now)
        return outcomes, duplicates

    async def _isolate(
        self, outcomes: Sequence[Outcome], now: datetime
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
                    functools.partial(self._claim_and_send, [outcome], now), span
                )
            except Exception as exc:  # noqa: BLE001 - not transient: this record is the poison
                poisoned = self._poisoned(outcome.record, _event_type(outcome), exc, now)
                logger.warning(
                    "dead-lettered: processing_error",
                    extra=span.log_fields() | {"reason": RejectReason.PROCESSING_ERROR.value},
                )
                # A dead letter the broker refuses too fails loudly: nothing else is left.
                await self._retry.run(
                    functools.partial(self._claim_and_send, [poisoned], now), span
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
        for outcome in outcomes:
            if isinstance(outcome, Rejected):
                label = bounded_event_type(outcome.event_type)
                metrics.rejected.labels(label, outcome.dead_letter.reason.value).inc()
                continue
            label = outcome.event.event.event_type
            if outcome.record.position in duplicates:
                metrics.duplicates.labels(label).inc()
            else:
                metrics.accepted.labels(label).inc()
        for record in records:
            if record.timestamp_ms is not None:
                metrics.latency_seconds.observe(max(0.0, (acked_ms - record.timestamp_ms) / 1000))
        metrics.batch_records.observe(len(records))
        metrics.batch_seconds.observe(time.perf_counter() - started)
