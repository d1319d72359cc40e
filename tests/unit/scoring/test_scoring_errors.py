"""Scoring's error handling: a record whose processing fails for good is found by bisecting
the batch, dead-lettered as processing_error in a commit that moves its partition past it, and
the rest of the batch is applied; positions move exactly once. A transient failure is retried
with backoff."""

import base64
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry

from services.scoring.domain.batch import InputRecord
from services.scoring.metrics import ScoringMetrics
from services.scoring.service import ScoringService
from shared import topics
from shared.config import CalendarConfig
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.messages import DeadLetter
from tests.support.fake_scorer import PoisonedScorer
from tests.support.fake_state_store import MemoryStateStore
from tests.support.fakes import RecordingOutput, RecordingSleep
from tests.support.scoring_events import survey

GROUP = "kpi-scoring"
P0, P1 = (topics.EVENTS, 0), (topics.EVENTS, 1)
AT = datetime(2024, 5, 10, tzinfo=UTC)


def build(
    store: MemoryStateStore, output: RecordingOutput
) -> tuple[ScoringService, CollectorRegistry, RecordingSleep]:
    registry, sleep = CollectorRegistry(), RecordingSleep()
    service = ScoringService(
        store=store,
        output=output,
        calendar=FiscalCalendar(CalendarConfig()),
        scorer=PoisonedScorer("A3"),
        metrics=ScoringMetrics(registry),
        group=GROUP,
        sleep=sleep,
    )
    return service, registry, sleep


def record(partition: tuple[str, int], offset: int, number: int, agent: str = "A1") -> InputRecord:
    event = survey(number, agent, AT, score=9)
    return InputRecord(*partition, offset, event, event.model_dump_json().encode())


def letters(output: RecordingOutput) -> list[DeadLetter]:
    return [DeadLetter.model_validate_json(m.value) for m in output.on(topics.DEADLETTER)]


def metric(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


async def test_a_poisoned_record_is_dead_lettered_and_the_rest_applied_once() -> None:
    store, output = MemoryStateStore(), RecordingOutput()
    service, registry, sleep = build(store, output)
    await service.assign({P0, P1})
    batch = [
        record(P0, 0, 1),
        record(P1, 0, 2),
        record(P0, 1, 3),
        record(P0, 2, 4, agent="A3"),
        record(P1, 1, 5),
        record(P0, 3, 6),
    ]

    result = await service.handle(batch)

    assert result.applied == 5
    assert result.seek == {}
    [letter] = letters(output)
    assert letter.reason == "processing_error"
    assert (letter.source_topic, letter.partition, letter.offset) == (topics.EVENTS, 0, 2)
    assert "ZeroDivisionError: target of zero" in letter.detail
    assert base64.b64decode(letter.payload_base64) == batch[3].raw
    stored = await store.positions(GROUP, {P0, P1})
    assert (stored[P0].next_offset, stored[P1].next_offset) == (4, 2)
    assert metric(registry, "kpi_scoring_events_applied_total") == 5
    assert metric(registry, "kpi_scoring_rejected_total", reason="processing_error") == 1
    assert metric(registry, "kpi_scoring_retries_total") == 0
    assert sleep.delays == []
    # The same batch again is out of step with the state: nothing is applied twice.
    again = await service.handle(batch)
    assert (again.applied, again.seek) == (0, {P0: 4, P1: 2})
    assert len(letters(output)) == 1


async def test_the_partition_moves_on_past_a_poisoned_record() -> None:
    store, output = MemoryStateStore(), RecordingOutput()
    service, _, _ = build(store, output)
    await service.assign({P0})
    await service.handle([record(P0, 0, 1, agent="A3")])

    result = await service.handle([record(P0, 1, 2), record(P0, 2, 3)])

    assert (result.applied, result.seek) == (2, {})
    assert (await store.positions(GROUP, {P0}))[P0].next_offset == 3
    assert [letter.offset for letter in letters(output)] == [0]


async def test_a_transient_failure_is_retried_with_backoff_not_dead_lettered() -> None:
    store, output = MemoryStateStore(), RecordingOutput()
    service, registry, sleep = build(store, output)
    await service.assign({P0})
    store.fail_next(3)

    result = await service.handle([record(P0, 0, 1), record(P0, 1, 2)])

    assert result.applied == 2
    assert sleep.delays == [0.5, 1.0, 2.0]
    assert letters(output) == []
    assert metric(registry, "kpi_scoring_retries_total") == 3
    assert metric(registry, "kpi_scoring_processing_errors_total") == 0
