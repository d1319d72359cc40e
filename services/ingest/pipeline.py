"""The ingest application service: one batch of upstream records in, outputs acknowledged out.

For every record exactly one of: a canonical event on `kpi.events.v1`, a dead letter on
`kpi.deadletter.v1`, or a counted duplicate. The caller commits the batch's offsets only after
`handle` returns, i.e. after the broker acknowledged every output.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared import retry, topics
from shared.kafka_output import Outbound, OutputPort, dead_letter_outbound
from shared.watermarks import InputClocks

from .claims import Claim, ClaimStore
from .metrics import IngestMetrics, bounded_event_type
from .triage import Accepted, Outcome, Record, Rejected, Triage

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]
PartitionKey = tuple[str, int]


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
        self._clock = clock
        self._max_backoff_s = max_backoff_s
        self._sleep = sleep

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
        outcomes = [_stamped(self._triage(record, now), stamp) for record in records]
        self._watermarks.observe(_progress(outcomes), now)
        for outcome in outcomes:
            if isinstance(outcome, Rejected):
                logger.warning(
                    "dead-lettered: %s",
                    outcome.dead_letter.reason.value,
                    extra={
                        "topic": outcome.record.topic,
                        "partition": outcome.record.partition,
                        "offset": outcome.record.offset,
                        "reason": outcome.dead_letter.reason.value,
                        "detail": outcome.dead_letter.detail,
                    },
                )
        duplicates = await self._with_retries(outcomes, now)
        self._record(records, outcomes, duplicates, started)
        return BatchSummary(
            accepted=sum(isinstance(o, Accepted) for o in outcomes) - len(duplicates),
            rejected=sum(isinstance(o, Rejected) for o in outcomes),
            duplicates=len(duplicates),
        )

    async def _claim_and_send(self, outcomes: Sequence[Outcome], now: datetime) -> set[str]:
        accepted = [o for o in outcomes if isinstance(o, Accepted)]
        duplicates = await self._claims.claim(
            [Claim(o.event.key, o.record.position) for o in accepted], now
        )
        outputs = [
            _outbound(o)
            for o in outcomes
            if not (isinstance(o, Accepted) and o.record.position in duplicates)
        ]
        await self._output.send_all(outputs)
        return duplicates

    async def _with_retries(self, outcomes: Sequence[Outcome], now: datetime) -> set[str]:
        return await retry.until_done(
            lambda: self._claim_and_send(outcomes, now),
            max_backoff_s=self._max_backoff_s,
            sleep=self._sleep,
            on_retry=self._metrics.retries.inc,
        )

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
