"""Applying one batch of canonical events to the state, purely.

The service loads what the batch needs (positions, record buckets), calls `apply_batch`, and
commits the outcome in one transaction. Nothing here knows about Kafka or MongoDB.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from shared.events import KpiEvent, RejectReason
from shared.kpi.components import C
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.kpi.survey_boxes import DEFAULT_BOXES, SurveyBox

from .contributions import (
    counted_month,
    merge_facts,
    record_contribution,
    record_facts,
    record_kind,
    stateless,
)
from .model import Deltas, Fact, RecordRef

PartitionKey = tuple[str, int]
_NOT_CANONICAL = "not a canonical kpi.events.v1 event (see docs/schemas/events.v1.json)"


@dataclass(frozen=True)
class InputRecord:
    """A canonical event as read from `kpi.events.v1`."""

    topic: str
    partition: int
    offset: int
    event: KpiEvent | None  # None: not a canonical event (dead-lettered, never applied)
    raw: bytes = b""


@dataclass(frozen=True)
class Position:
    """Where an input partition stands: the next offset, and for each channel (upstream source
    partition) the highest source offset applied and its watermark (see `watermarks.py`)."""

    next_offset: int | None
    source_marks: Mapping[str, int] = field(default_factory=dict)
    watermarks: Mapping[str, datetime] = field(default_factory=dict)


@dataclass
class BatchOutcome:
    """What a batch changes, ready to be committed."""

    deltas: Deltas
    records: dict[str, dict[str, list[Fact]]]
    positions: dict[PartitionKey, Position]
    rejected: list[tuple[InputRecord, RejectReason, str]]
    applied: int = 0
    duplicates: int = 0
    # The channels (upstream source partitions) that delivered a record, per input partition.
    delivered: dict[PartitionKey, set[str]] = field(default_factory=dict)


RecordFacts = list[tuple[RecordRef, Fact]]


def batch_facts(records: Sequence[InputRecord], calendar: FiscalCalendar) -> list[RecordFacts]:
    """The record facts of each record of a batch, in order (none for a non-event): worked out
    once, for `needed_buckets` and `apply_batch`."""
    return [record_facts(r.event, calendar) if r.event is not None else [] for r in records]


def needed_buckets(
    records: Sequence[InputRecord],
    calendar: FiscalCalendar,
    facts: Sequence[RecordFacts] | None = None,
) -> set[str]:
    """The record buckets a batch will read and write."""
    each = batch_facts(records, calendar) if facts is None else facts
    return {ref.bucket for per_record in each for ref, _ in per_record}


def _source(event: KpiEvent) -> str:
    return f"{event.source_topic}:{event.source_partition}"


def apply_batch(
    records: Sequence[InputRecord],
    *,
    positions: Mapping[PartitionKey, Position],
    record_state: Mapping[str, Mapping[str, Sequence[Fact]]],
    calendar: FiscalCalendar,
    prepared: Sequence[RecordFacts] | None = None,
    survey_boxes: Sequence[SurveyBox] = DEFAULT_BOXES,
) -> BatchOutcome:
    """Apply records in order; skip re-publications, refuse events past the allowed lateness
    of their own channel's watermark (a pure function of that channel's sequence). `prepared`,
    when given, is `batch_facts(records, calendar)`; `survey_boxes` are the catalogue's."""
    deltas = Deltas()
    marks = {key: dict(position.source_marks) for key, position in positions.items()}
    watermarks = {key: dict(position.watermarks) for key, position in positions.items()}
    next_offsets = {key: position.next_offset for key, position in positions.items()}
    delivered: dict[PartitionKey, set[str]] = {}
    new_facts: dict[str, dict[str, list[Fact]]] = {}
    rejected: list[tuple[InputRecord, RejectReason, str]] = []
    # One revision per event accepted into a closed month: counting per event rather than per
    # batch keeps the state independent of how records are cut into batches.
    late: Counter[tuple[str, str]] = Counter()
    applied = duplicates = 0

    for index, record in enumerate(records):
        key = (record.topic, record.partition)
        next_offsets[key] = record.offset + 1
        event = record.event
        if event is None:
            rejected.append((record, RejectReason.SCHEMA_VIOLATION, _NOT_CANONICAL))
            continue
        source = _source(event)
        delivered.setdefault(key, set()).add(source)
        partition_marks = marks.setdefault(key, {})
        if event.source_offset <= partition_marks.get(source, -1):
            duplicates += 1  # ingest published it again after a crash; applied already
            continue
        partition_marks[source] = event.source_offset
        occurred = event.event.occurred_at
        month = counted_month(event, calendar)
        channel = watermarks.setdefault(key, {})
        watermark = channel.get(source)
        if watermark is not None and watermark > calendar.lateness_deadline(month):
            detail = _too_late_detail(event, month, calendar, watermark)
            rejected.append((record, RejectReason.TOO_LATE, detail))
            continue
        if watermark is not None and calendar.is_closed(month, watermark):
            late.update((entity, month) for entity in event.org.entities())  # +1 each
        stateless(event, calendar, survey_boxes, into=deltas)
        for ref, fact in record_facts(event, calendar) if prepared is None else prepared[index]:
            in_bucket = new_facts.setdefault(ref.bucket, {})
            in_bucket.setdefault(ref.record_id, []).append(fact)
        channel[source] = occurred if watermark is None else max(watermark, occurred)
        applied += 1

    changed: dict[str, dict[str, list[Fact]]] = {}
    for bucket, by_id in new_facts.items():
        kind = record_kind(bucket)
        stored = record_state.get(bucket, {})
        for record_id, facts in by_id.items():
            before = list(stored.get(record_id, ()))
            after = merge_facts(kind, before, facts)
            if [f["k"] for f in after] == [f["k"] for f in before]:
                continue  # a replay, or facts that change nothing the record counts
            deltas.add(record_contribution(kind, before, calendar), sign=-1)
            deltas.add(record_contribution(kind, after, calendar))
            changed.setdefault(bucket, {})[record_id] = after
    for (entity, month), count in late.items():
        deltas[(entity, month, C.REVISIONS)] += count

    nonzero = Deltas(deltas.nonzero().items())
    return BatchOutcome(
        deltas=nonzero,
        records=changed,
        positions={
            key: Position(next_offsets[key], marks.get(key, {}), watermarks.get(key, {}))
            for key in next_offsets
        },
        rejected=rejected,
        applied=applied,
        duplicates=duplicates,
        delivered=delivered,
    )


def _too_late_detail(
    event: KpiEvent, month: str, calendar: FiscalCalendar, watermark: datetime
) -> str:
    deadline = calendar.lateness_deadline(month)
    return (
        f"occurred_at: {event.event.occurred_at.isoformat()} counts in {month}, which accepted "
        f"late events until {deadline.isoformat()}; events from {_source(event)} had already "
        f"reached {watermark.isoformat()}"
    )
