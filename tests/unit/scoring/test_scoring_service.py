"""The scoring service with fakes: retries, fencing and revocation."""

from datetime import UTC, datetime

from prometheus_client import CollectorRegistry

from services.scoring.domain.batch import InputRecord
from services.scoring.metrics import ScoringMetrics
from services.scoring.service import ScoringService
from shared.config import CalendarConfig
from shared.kpi.fiscal_calendar import FiscalCalendar
from tests.support.fake_scorer import NoScores
from tests.support.fake_state_store import MemoryStateStore
from tests.support.fakes import RecordingOutput
from tests.support.scoring_events import survey

PARTITION = ("kpi.events.v1", 0)


def _service(store: MemoryStateStore, output: RecordingOutput, sleep: object) -> ScoringService:
    return ScoringService(
        store=store,
        output=output,
        calendar=FiscalCalendar(CalendarConfig()),
        scorer=NoScores(),
        metrics=ScoringMetrics(CollectorRegistry()),
        group="kpi-scoring",
        sleep=sleep,  # type: ignore[arg-type]
    )


def _records(start: int, count: int) -> list[InputRecord]:
    at = datetime(2024, 5, 10, tzinfo=UTC)
    return [
        InputRecord(*PARTITION, start + i, survey(start + i, "A1", at, score=9))
        for i in range(count)
    ]


async def test_a_failed_batch_is_retried_until_it_commits() -> None:
    store, output = MemoryStateStore(), RecordingOutput()
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    service = _service(store, output, sleep)
    await service.assign({PARTITION})
    output.fail_next(2)

    result = await service.handle(_records(0, 3))

    assert result.applied == 3
    assert delays == [0.5, 1.0]
    stored = await store.positions("kpi-scoring", {PARTITION})
    assert stored[PARTITION].next_offset == 3


async def test_a_batch_out_of_step_with_the_state_is_dropped_and_re_read() -> None:
    store, output = MemoryStateStore(), RecordingOutput()
    service = _service(store, output, lambda _: None)
    await service.assign({PARTITION})
    await service.handle(_records(0, 3))

    result = await service.handle(_records(10, 2))

    assert result.applied == 0
    assert result.seek == {PARTITION: 3}


async def test_a_partition_revoked_while_its_batch_waits_to_retry_is_let_go() -> None:
    store, output = MemoryStateStore(), RecordingOutput()
    service: ScoringService

    async def sleep(_: float) -> None:
        service.revoke({PARTITION})

    service = _service(store, output, sleep)
    await service.assign({PARTITION})
    output.fail_next(1)

    result = await service.handle(_records(0, 3))

    assert result.applied == 0
    assert result.seek == {}
    assert await store.positions("kpi-scoring", {PARTITION}) == {}


async def test_revoking_partitions_drops_the_state_kept_between_batches() -> None:
    store, output = MemoryStateStore(), RecordingOutput()
    service = _service(store, output, lambda _: None)
    await service.assign({PARTITION})
    await service.handle(_records(0, 3))
    service.revoke(set())  # a rebalance that took nothing away keeps it
    assert store.forgotten == 0

    service.revoke({PARTITION})

    assert store.forgotten == 1
