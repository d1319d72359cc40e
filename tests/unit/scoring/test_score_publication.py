"""Score updates go out after their batches commit, coalesced while scoring catches up, and
none is lost when an instance dies between a commit and its publication."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Final

import pytest
from prometheus_client import CollectorRegistry

from services.scoring.domain.batch import InputRecord
from services.scoring.metrics import ScoringMetrics
from services.scoring.publication import CHUNK_PAIRS, COMPLETE_EVERY, chunked
from services.scoring.scores import ScoreBuilder
from services.scoring.service import ScoringService
from shared import topics
from shared.kpi.config import load_kpi_config
from shared.messages.score import Score
from tests.support.fake_state_store import MemoryStateStore
from tests.support.fakes import FakeClock, RecordingOutput, RecordingSleep
from tests.support.scoring_events import survey

CONFIG: Final = load_kpi_config(Path("config"))
P0, P1 = (topics.EVENTS, 0), (topics.EVENTS, 1)
WALL: Final = datetime(2026, 11, 1, 12, tzinfo=UTC)
MAY: Final = datetime(2024, 5, 10, tzinfo=UTC)


def build(
    store: MemoryStateStore,
    output: RecordingOutput,
    clock: FakeClock,
    chunk_pairs: int = CHUNK_PAIRS,
    complete_every: timedelta = COMPLETE_EVERY,
) -> tuple[ScoringService, CollectorRegistry]:
    registry = CollectorRegistry()
    builder = ScoreBuilder(
        catalogue=CONFIG.catalogue,
        calendar=CONFIG.calendar,
        org=CONFIG.org,
        targets=CONFIG.targets,
        store=store,
    )
    service = ScoringService(
        store=store,
        output=output,
        calendar=CONFIG.calendar,
        scorer=builder,
        metrics=ScoringMetrics(registry),
        group=topics.SCORING_GROUP,
        wall=clock,
        sleep=RecordingSleep(),
        flush_interval=timedelta(seconds=10),
        chunk_pairs=chunk_pairs,
        complete_every=complete_every,
    )
    return service, registry


def batches() -> list[list[InputRecord]]:
    """Three batches over two partitions: surveys of two agents in May, answered 9, 4, 10..."""
    out: list[list[InputRecord]] = []
    offsets = {P0: 0, P1: 0}
    number = 0
    for _ in range(3):
        batch = []
        for partition, agent in ((P0, "A1"), (P1, "A2"), (P0, "A1")):
            number += 1
            event = survey(number, agent, MAY + timedelta(hours=number), score=(number * 7) % 11)
            event = event.model_copy(update={"source_timestamp": WALL})
            batch.append(InputRecord(*partition, offsets[partition], event))
            offsets[partition] += 1
        out.append(batch)
    return out


def latest(output: RecordingOutput) -> dict[tuple[str, str, str], Score]:
    """The last score sent for each (entity, KPI, period)."""
    scores = [Score.model_validate_json(m.value) for m in output.on(topics.SCORES)]
    return {(s.entity, s.kpi, s.period): s for s in scores}


def comparable(scores: dict[tuple[str, str, str], Score]) -> dict[tuple[str, str, str], str]:
    return {key: score.score_id for key, score in scores.items()}


async def every_batch() -> RecordingOutput:
    """The reference: caught up after every batch, so every batch publishes."""
    store, output, clock = MemoryStateStore(), RecordingOutput(), FakeClock(WALL)
    service, _ = build(store, output, clock)
    await service.assign({P0, P1})
    for batch in batches():
        clock.advance(timedelta(seconds=1))
        await service.handle(batch, {P0: False, P1: False})
    return output


async def test_a_backlog_publishes_once_when_caught_up_with_the_same_final_scores() -> None:
    reference = await every_batch()
    store, output, clock = MemoryStateStore(), RecordingOutput(), FakeClock(WALL)
    service, registry = build(store, output, clock)
    await service.assign({P0, P1})
    *behind, last = batches()
    for batch in behind:
        clock.advance(timedelta(seconds=1))
        await service.handle(batch, {P0: True, P1: False})
        assert output.on(topics.SCORES) == []  # a partition has records left: wait
    clock.advance(timedelta(seconds=1))
    await service.handle(last, {P0: False, P1: False})

    assert comparable(latest(output)) == comparable(latest(reference))
    # each (entity, KPI, period) once, instead of once per batch that changed it
    assert len(output.on(topics.SCORES)) == len(latest(output))
    assert len(output.on(topics.SCORES)) < len(reference.on(topics.SCORES))
    assert registry.get_sample_value("kpi_scoring_event_to_score_seconds_count") == 9
    assert registry.get_sample_value("kpi_scoring_scores_pending") == 0


async def test_a_publication_goes_out_a_chunk_of_pairs_at_a_time_with_the_same_scores() -> None:
    """A flush builds and sends its messages a few pairs at a time (its memory bounded by a
    chunk, not by what waits), and publishes what one flush of everything would."""
    reference = await every_batch()
    store, output, clock = MemoryStateStore(), RecordingOutput(), FakeClock(WALL)
    service, registry = build(store, output, clock, chunk_pairs=1)
    await service.assign({P0, P1})
    for batch in batches():
        clock.advance(timedelta(seconds=1))
        await service.handle(batch, {P0: True, P1: True}, left=1_000_000)
    assert output.on(topics.SCORES) == []
    before = output.calls
    await service.publish()

    sent = output.on(topics.SCORES)
    assert comparable(latest(output)) == comparable(latest(reference))
    assert len(sent) == len(latest(output))  # each score once
    # one send per entity (its pairs together): two agents and their team, branch, region...
    entities = {Score.model_validate_json(m.value).entity for m in sent}
    assert output.calls - before == len(entities) > 2
    assert registry.get_sample_value("kpi_scoring_scores_published_total") == len(sent)
    assert registry.get_sample_value("kpi_scoring_scores_pending") == 0


def test_chunks_keep_every_pair_once_and_an_entity_whole() -> None:
    changed = {
        (entity, period): {f"{entity}-{period}"}
        for entity in ("agent:B", "agent:A", "team:T", "company:C")
        for period in ("2024-04", "2024-05", "FY2024")
    }
    for pairs in (1, 2, 3, 4, 7, 12, 100):
        chunks = list(chunked(changed, pairs))
        merged = {key: kpis for chunk in chunks for key, kpis in chunk.items()}
        assert merged == changed
        assert sum(len(chunk) for chunk in chunks) == len(changed)
        owners = [{entity for entity, _ in chunk} for chunk in chunks]
        assert all(a.isdisjoint(b) for i, a in enumerate(owners) for b in owners[i + 1 :])
        # every chunk but the last reaches `pairs`, and stops at the entity that reached it
        assert all(pairs <= len(chunk) < pairs + 3 for chunk in chunks[:-1])
    assert list(chunked({}, 5)) == []


async def test_while_catching_up_updates_go_out_every_interval() -> None:
    store, output, clock = MemoryStateStore(), RecordingOutput(), FakeClock(WALL)
    service, _ = build(store, output, clock)
    await service.assign({P0, P1})
    first, second, third = batches()
    await service.handle(first, {P0: True, P1: True})
    clock.advance(timedelta(seconds=9))
    await service.handle(second, {P0: True, P1: True})
    assert output.on(topics.SCORES) == []
    clock.advance(timedelta(seconds=1))  # ten seconds since the last publication
    await service.handle(third, {P0: True, P1: True})
    await service.published()  # it runs beside the next batches

    reference = await every_batch()
    assert comparable(latest(output)) == comparable(latest(reference))


async def test_while_catching_up_a_publication_does_not_hold_the_next_batch() -> None:
    store, output, clock = MemoryStateStore(), RecordingOutput(), FakeClock(WALL)
    service, _ = build(store, output, clock)
    await service.assign({P0, P1})
    first, second, third = batches()
    await service.handle(first, {P0: True, P1: True})
    clock.advance(timedelta(seconds=10))
    output.hold()  # the broker is slow to acknowledge
    await service.handle(second, {P0: True, P1: True})  # the interval's publication starts
    await service.handle(third, {P0: True, P1: True})  # and this batch does not wait for it
    assert output.on(topics.SCORES) == []  # held: nothing acknowledged yet

    output.release()
    await service.published()
    await service.publish()  # caught up: whatever the publication beside did not take
    reference = await every_batch()
    assert comparable(latest(output)) == comparable(latest(reference))
    assert service.pending_scores == 0


async def test_keeping_up_with_a_stream_updates_go_out_beside_the_next_batch() -> None:
    # Records are always left to read in a steady stream: fewer than a batch, scoring keeps up
    # and does not coalesce for the interval; more, it is behind and does.
    reference = await every_batch()
    store, output, clock = MemoryStateStore(), RecordingOutput(), FakeClock(WALL)
    service, _ = build(store, output, clock)
    await service.assign({P0, P1})
    for batch in batches():
        clock.advance(timedelta(seconds=1))
        await service.handle(batch, {P0: True, P1: True}, left=120)
        await service.published()
        assert service.pending_scores == 0
    assert comparable(latest(output)) == comparable(latest(reference))

    behind_output = RecordingOutput()
    behind, _ = build(MemoryStateStore(), behind_output, clock)
    await behind.assign({P0, P1})
    for batch in batches():
        clock.advance(timedelta(seconds=1))
        await behind.handle(batch, {P0: True, P1: True}, left=1_000_000)
        await behind.published()
    assert behind_output.on(topics.SCORES) == []
    assert behind.pending_scores > 0


async def test_updates_committed_and_never_published_go_out_from_the_next_owner() -> None:
    reference = await every_batch()
    store, clock = MemoryStateStore(), FakeClock(WALL)
    lost = RecordingOutput()
    crashed, _ = build(store, lost, clock)
    await crashed.assign({P0, P1})
    for batch in batches():
        clock.advance(timedelta(seconds=1))
        await crashed.handle(batch, {P0: True, P1: True})
    assert lost.on(topics.SCORES) == []  # it died before publishing anything

    output = RecordingOutput()
    successor, _ = build(store, output, clock)
    await successor.assign({P0, P1})
    clock.advance(timedelta(seconds=10))
    await successor.publish(caught_up=False)  # the timer, with no batch coming

    # Every period of every bucket touched is published again (more KPIs than changed),
    # and each changed score is the reference's final one.
    recovered = comparable(latest(output))
    assert recovered.items() >= comparable(latest(reference)).items()
    # Published and marked: a third owner has nothing to send again.
    third_output = RecordingOutput()
    third, _ = build(store, third_output, clock)
    await third.assign({P0, P1})
    clock.advance(timedelta(seconds=10))
    assert await third.publish(caught_up=False) == 0
    assert third_output.sent == []


async def test_a_lost_broker_delays_the_publication_and_loses_nothing() -> None:
    reference = await every_batch()
    store, output, clock = MemoryStateStore(), RecordingOutput(), FakeClock(WALL)
    service, registry = build(store, output, clock)
    await service.assign({P0, P1})
    output.fail_next(2)
    for batch in batches():
        clock.advance(timedelta(seconds=1))
        await service.handle(batch, {P0: False, P1: False})

    assert comparable(latest(output)) == comparable(latest(reference))
    assert output.failures == 2
    assert (registry.get_sample_value("kpi_scoring_retries_total") or 0) >= 2


async def test_a_late_month_change_republishes_later_months_that_sum_it() -> None:
    """Regression (found by tests/resilience/test_crashes.py): policies in force are summed
    over the months before a period, so an April policy applied after May's scores went out
    changes May's lapse rate; May is published again, and the last score of every key equals
    the state."""
    from services.scoring.queries import period_scores  # noqa: PLC0415
    from tests.support.scoring_events import policy  # noqa: PLC0415

    store, output, clock = MemoryStateStore(), RecordingOutput(), FakeClock(WALL)
    service, _ = build(store, output, clock)
    await service.assign({P0, P1})
    may = policy(1, "A1", MAY, "issued")
    april = policy(2, "A1", datetime(2024, 4, 20, tzinfo=UTC), "issued")
    for offset, (partition, event) in enumerate(((P0, may), (P1, april))):
        clock.advance(timedelta(seconds=1))
        record = InputRecord(
            *partition, offset, event.model_copy(update={"source_timestamp": WALL})
        )
        await service.handle([record], {P0: False, P1: False})

    published = latest(output)
    assert published[("agent:A1", "lapse_rate", "2024-05")].denominator == 1  # April's policy
    builder = ScoreBuilder(
        catalogue=CONFIG.catalogue,
        calendar=CONFIG.calendar,
        org=CONFIG.org,
        targets=CONFIG.targets,
        store=store,
    )
    for period in ("2024-04", "2024-05", "FY2024-Q1"):
        state = await period_scores(store, builder, entities=["agent:A1"], period=period)
        for score in state["agent:A1"]:
            sent = published.get(("agent:A1", score.kpi, period))
            if sent is not None:
                assert (sent.numerator, sent.denominator) == (
                    score.numerator,
                    score.denominator,
                ), (score.kpi, period)


@pytest.mark.parametrize("caught_up", [False, True], ids=["keeping up", "caught up"])
async def test_live_the_later_months_a_change_reaches_wait_for_a_complete_publication(
    caught_up: bool,
) -> None:
    """Live (after a batch, keeping up with a stream or caught up), a publication sends the
    periods a batch changed; the later months that sum them (policies in force) and the mark of
    what is published wait for the next complete one (`complete_every` after the last, or the
    timer, or a stop), so a live publication does not republish every later month after every
    batch. Nothing is lost meanwhile: the state says what is not yet published, and the complete
    publication sends the same last scores."""
    from tests.support.scoring_events import policy  # noqa: PLC0415

    store, output, clock = MemoryStateStore(), RecordingOutput(), FakeClock(WALL)
    service, registry = build(store, output, clock, complete_every=timedelta(seconds=10))
    await service.assign({P0, P1})
    backlog = {P0: not caught_up, P1: not caught_up}
    may = policy(1, "A1", MAY, "issued")
    april = policy(2, "A1", datetime(2024, 4, 20, tzinfo=UTC), "issued")
    for offset, (partition, event) in enumerate(((P0, may), (P1, april))):
        clock.advance(timedelta(seconds=1))
        record = InputRecord(
            *partition, offset, event.model_copy(update={"source_timestamp": WALL})
        )
        await service.handle([record], backlog, left=None if caught_up else 120)
        await service.published()

    key = ("agent:A1", "lapse_rate", "2024-05")
    assert latest(output)[key].denominator == 0  # May as published before April's policy
    assert latest(output)[("agent:A1", "lapse_rate", "2024-04")].denominator == 0
    assert service.pending_scores > 0  # April's later months wait
    assert (await store.unscored(topics.SCORING_GROUP, {P0, P1})).touched  # and are not marked
    assert registry.get_sample_value("kpi_scoring_event_to_score_seconds_count") == 2

    assert await service.publish(caught_up=False) == 0  # the timer: not due yet
    clock.advance(timedelta(seconds=10))
    assert await service.publish(caught_up=False) > 0  # the timer: the complete publication
    assert latest(output)[key].denominator == 1  # April's policy is in force in May
    assert service.pending_scores == 0
    assert not (await store.unscored(topics.SCORING_GROUP, {P0, P1})).touched


async def test_keeping_up_for_longer_than_complete_every_publishes_the_later_months() -> None:
    from tests.support.scoring_events import policy  # noqa: PLC0415

    store, output, clock = MemoryStateStore(), RecordingOutput(), FakeClock(WALL)
    service, _ = build(store, output, clock, complete_every=timedelta(seconds=10))
    await service.assign({P0, P1})
    events = [
        policy(1, "A1", MAY, "issued"),
        policy(2, "A1", datetime(2024, 4, 20, tzinfo=UTC), "issued"),
        policy(3, "A1", datetime(2024, 4, 21, tzinfo=UTC), "issued"),
    ]
    may: list[Decimal | None] = []
    for offset, event in enumerate(events):
        clock.advance(timedelta(seconds=6))  # batches at 6, 12 and 18 s
        record = InputRecord(*P0, offset, event.model_copy(update={"source_timestamp": WALL}))
        await service.handle([record], {P0: True, P1: True}, left=120)
        await service.published()
        may.append(latest(output)[("agent:A1", "lapse_rate", "2024-05")].denominator)
    # 6 s: May itself; 12 s, 10 s after the last complete publication: complete, so May again
    # with April's first policy in force; 18 s, 6 s after that one: April's second waits.
    assert may == [0, 1, 1]
    assert service.pending_scores > 0
    await service.publish()
    assert latest(output)[("agent:A1", "lapse_rate", "2024-05")].denominator == 2
