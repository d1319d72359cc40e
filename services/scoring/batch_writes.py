"""A batch of canonical events applied in memory, before its commit: what the commit writes,
its dead letters, and the helpers the scoring service (`service.py`) prepares it with. Pure:
no database, no broker."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.batch_span import BatchSpan
from shared.events import ContractViolation, RejectReason
from shared.kafka_output import Outbound, dead_letter_outbound
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.messages import DeadLetter

from .domain.batch import BatchOutcome, InputRecord, Position
from .domain.model import Deltas, Fact
from .ports import BatchWrite, CounterDocument
from .publication import Changed

PartitionKey = tuple[str, int]
DETAIL_CHARS = 500  # an error's message in a dead letter's detail, cut to stay readable


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


def dead_letter(record: InputRecord, reason: RejectReason, detail: str) -> Outbound:
    letter = DeadLetter.from_violation(
        record.raw,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        violation=ContractViolation(reason, detail),
        received_at=datetime.now(UTC),
    )
    return dead_letter_outbound(letter)


def stamps(batch: Sequence[InputRecord]) -> dict[PartitionKey, datetime | None]:
    """Each partition's latest ingest watermark in the batch (None: the records carried none)."""
    stamps: dict[PartitionKey, datetime | None] = {}
    for record in batch:
        key = (record.topic, record.partition)
        stamp = record.event.watermark if record.event is not None else None
        stamps[key] = later(stamps.get(key), stamp)
    return stamps


def span(what: str, batch: Sequence[InputRecord]) -> BatchSpan:
    return BatchSpan.of(
        what,
        ((r.topic, r.partition, r.offset) for r in batch),
        [r.event.event.event_id for r in batch if r.event is not None],
    )


def poisoned(record: InputRecord, position: Position, error: Exception) -> BatchOutcome:
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


@dataclass
class Prepared:
    """A batch applied in memory and not yet committed."""

    batch: Sequence[InputRecord]
    applied: Sequence[InputRecord]  # the records whose events it applied (none: a poison)
    keys: set[PartitionKey]
    outcome: BatchOutcome
    write: BatchWrite
    changed: Changed
    latest: datetime | None
    started: float


@dataclass
class Running:
    """A commit running beside the next batch."""

    prepared: Prepared
    task: asyncio.Task[None]


def overlay(
    state: dict[str, dict[str, list[Fact]]], ahead: BatchOutcome, needed: Collection[str]
) -> dict[str, dict[str, list[Fact]]]:
    """The record facts of the `needed` buckets as they will stand once `ahead` (a batch being
    committed) is stored: its changed records replace what was read for them."""
    for bucket in needed:
        by_record = ahead.records.get(bucket)
        if by_record:
            merged = dict(state.get(bucket, {}))
            merged.update({record_id: list(facts) for record_id, facts in by_record.items()})
            state[bucket] = merged
    return state


def retrieved(task: asyncio.Task[None]) -> None:
    """A commit beside the batches ended; its failure, if any, is the next batch's to handle
    (the retry policy has logged it)."""
    if not task.cancelled():
        task.exception()


def later(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def latest_of(batch: Sequence[InputRecord]) -> datetime | None:
    times = [r.event.event.occurred_at for r in batch if r.event is not None]
    return max(times) if times else None
