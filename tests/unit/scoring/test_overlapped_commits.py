"""Commits beside the next batch (`overlap`): the next batch is applied in memory while the one
before commits, on top of what that commit will store; if it fails, the batch applied on top
is dropped and re-read. Whatever the cutting, the holding of commits and their failures, the
stored state equals that of one batch committed alone (DESIGN §7)."""

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from services.scoring.domain.batch import InputRecord
from services.scoring.metrics import ScoringMetrics
from services.scoring.ports import (
    BatchWrite,
    BeforeCommit,
    CommitTooLong,
    StateStoreError,
    StateStoreUnavailable,
)
from services.scoring.service import ScoringService
from shared.config import CalendarConfig
from shared.kpi.fiscal_calendar import FiscalCalendar
from tests.support.fake_scorer import NoScores
from tests.support.fake_state_store import MemoryStateStore
from tests.support.fakes import RecordingOutput
from tests.support.scoring_events import mixed_history

PARTITION = ("kpi.events.v1", 0)
LOG = [
    InputRecord(*PARTITION, offset, event)
    for offset, event in enumerate(mixed_history(datetime(2024, 5, 1, 9, tzinfo=UTC)))
]


class GatedStore(MemoryStateStore):
    """Commits wait at a gate (open unless closed), and the next ones can be made to fail:
    transiently (retried), or as too long for the database (split)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()
        self.waiting = 0  # commits waiting at the gate
        self.reads_while_waiting = 0  # record reads while a commit waited
        self.failures: list[StateStoreError] = []  # raised by the next commits, in order

    async def records(self, bucket_ids):  # type: ignore[no-untyped-def]
        if self.waiting:
            self.reads_while_waiting += 1
        return await super().records(bucket_ids)

    async def commit(self, write: BatchWrite, before_commit: BeforeCommit) -> None:
        self.waiting += 1
        try:
            await self.gate.wait()
        finally:
            self.waiting -= 1
        if self.failures and (_size(write) > 1 or not isinstance(self.failures[0], CommitTooLong)):
            raise self.failures.pop(0)  # one record is the least a commit can hold
        await super().commit(write, before_commit)


def _size(write: BatchWrite) -> int:
    return sum(p.next_offset - (p.expected_next_offset or 0) for p in write.partitions)


def _service(
    store: MemoryStateStore, *, overlap: bool, registry: CollectorRegistry | None = None
) -> ScoringService:
    async def no_wait(_: float) -> None:
        return None

    return ScoringService(
        store=store,
        output=RecordingOutput(),
        calendar=FiscalCalendar(CalendarConfig()),
        scorer=NoScores(),
        metrics=ScoringMetrics(registry or CollectorRegistry()),
        group="kpi-scoring",
        sleep=no_wait,
        overlap=overlap,
    )


async def _consume(service: ScoringService, sizes: Sequence[int]) -> int:
    """Read the log as a consumer does, in batches of the given sizes (repeated), following
    the seeks the service asks for; returns how many batches were handed to it."""
    offset, handed = 0, 0
    while offset < len(LOG):
        size = sizes[handed % len(sizes)]
        batch = LOG[offset : offset + size]
        left = len(LOG) - offset - len(batch)
        result = await service.handle(batch, {PARTITION: left > 0}, left=left)
        handed += 1
        offset = result.seek[PARTITION] or 0 if PARTITION in result.seek else offset + len(batch)
    return handed


async def _turns() -> None:
    """Let the tasks that are ready run."""
    for _ in range(20):
        await asyncio.sleep(0)


async def _state(store: MemoryStateStore) -> object:
    positions = await store.positions("kpi-scoring", {PARTITION})
    return positions[PARTITION].next_offset, positions[PARTITION].source_marks, store.contents()


async def _alone() -> object:
    store = MemoryStateStore()
    service = _service(store, overlap=False)
    await service.assign({PARTITION})
    await service.handle(LOG, {PARTITION: False}, left=0)
    return await _state(store)


async def test_the_next_batch_is_applied_while_the_one_before_commits() -> None:
    store, registry = GatedStore(), CollectorRegistry()
    service = _service(store, overlap=True, registry=registry)
    await service.assign({PARTITION})
    store.gate.clear()

    first = await service.handle(LOG[:30], {PARTITION: True}, left=len(LOG) - 30)
    assert first.applied == 30
    await _turns()
    assert store.waiting == 1  # its commit runs beside, held at the gate
    assert await store.positions("kpi-scoring", {PARTITION}) == {}

    second = asyncio.create_task(service.handle(LOG[30:60], {PARTITION: True}, left=1))
    await _turns()
    assert store.reads_while_waiting == 1  # applied meanwhile, on top of the first
    assert not second.done()  # its commit waits for the first's
    store.gate.set()
    assert (await second).applied == 30
    assert registry.get_sample_value("kpi_scoring_batches_beside_commit_total") == 1

    await service.handle(LOG[60:], {PARTITION: False}, left=0)
    assert await _state(store) == await _alone()


async def test_a_batch_applied_on_top_of_a_failed_commit_is_dropped_and_read_again() -> None:
    store, registry = GatedStore(), CollectorRegistry()
    service = _service(store, overlap=True, registry=registry)
    await service.assign({PARTITION})
    store.failures.append(CommitTooLong("too long"))

    await service.handle(LOG[:30], {PARTITION: True}, left=len(LOG) - 30)
    result = await service.handle(LOG[30:60], {PARTITION: True}, left=1)

    assert result.applied == 0
    assert result.seek == {PARTITION: None}  # nothing stored: from the beginning
    assert registry.get_sample_value("kpi_scoring_batches_dropped_after_failed_commit_total") == 1
    assert await store.positions("kpi-scoring", {PARTITION}) == {}
    assert await _consume(service, [30]) > 0
    assert await _state(store) == await _alone()


async def test_caught_up_a_batch_is_committed_before_handle_returns() -> None:
    store = GatedStore()
    service = _service(store, overlap=True)
    await service.assign({PARTITION})

    await service.handle(LOG[:30], {PARTITION: False}, left=0)

    assert store.waiting == 0
    stored = await store.positions("kpi-scoring", {PARTITION})
    assert stored[PARTITION].next_offset == 30


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, len(LOG)), min_size=1, max_size=6),
    failures=st.lists(st.sampled_from(["too long", "lost"]), max_size=4),
)
def test_any_cutting_and_failed_commits_give_the_state_of_one_batch(
    sizes: list[int], failures: list[str]
) -> None:
    async def run() -> tuple[object, object]:
        store = GatedStore()
        store.failures = [
            CommitTooLong(reason) if reason == "too long" else StateStoreUnavailable(reason)
            for reason in failures
        ]
        service = _service(store, overlap=True)
        await service.assign({PARTITION})
        await _consume(service, sizes)
        return await _state(store), await _alone()

    overlapped, alone = asyncio.run(run())
    assert overlapped == alone
