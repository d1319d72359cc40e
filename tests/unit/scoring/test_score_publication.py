"""Score updates go out after their batches commit, coalesced while scoring catches up, and
none is lost when an instance dies between a commit and its publication."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import pytest
from prometheus_client import CollectorRegistry

from services.scoring.domain.batch import InputRecord
from services.scoring.metrics import ScoringMetrics
from services.scoring.publication import CHUNK_PAIRS, chunked
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
    complete_every: timedelta = timedelta(0),
    publication_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
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
        publication_sleep=publication_sleep,
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
        await service.published()  # the months at once, the rest following
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
    await service.published()

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
        await service.published()

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
        await service.published()

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


class Gate:
    """The publication's sleep before a complete publication follows live ones: it records how
    long it was asked to wait and waits until the test opens it."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self._open = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await self._open.wait()

    def open(self) -> None:
        self._open.set()


async def _april_after_may(service: ScoringService, caught_up: bool) -> None:
    """A May policy, then an April one (another partition behind): April's policy is in
    force in May, so May's lapse rate changes again."""
    from tests.support.scoring_events import policy  # noqa: PLC0415

    backlog = {P0: not caught_up, P1: not caught_up}
    may = policy(1, "A1", MAY, "issued")
    april = policy(2, "A1", datetime(2024, 4, 20, tzinfo=UTC), "issued")
    for offset, (partition, event) in enumerate(((P0, may), (P1, april))):
        record = InputRecord(
            *partition, offset, event.model_copy(update={"source_timestamp": WALL})
        )
        await service.handle([record], backlog, left=None if caught_up else 120)
        await service.published(following=False)


@pytest.mark.parametrize("caught_up", [False, True], ids=["keeping up", "caught up"])
async def test_live_the_months_go_out_at_once_and_the_rest_follows_complete(
    caught_up: bool,
) -> None:
    """Live (after a batch, keeping up with a stream or caught up), a publication sends the
    months a batch changed. Their quarters, halves and years, the later months that sum them
    (policies in force) and the mark of what is published follow in one complete publication
    `complete_every` after the last: sending them all after every batch was three quarters
    of the updates, more than scoring computes at 2,000 events/s of the ordinary mix. Nothing
    is lost meanwhile: the state says what is not yet published, and the last scores are the
    ones a publication after every batch sends."""
    store, output, clock = MemoryStateStore(), RecordingOutput(), FakeClock(WALL)
    gate = Gate()
    service, registry = build(
        store, output, clock, complete_every=timedelta(seconds=10), publication_sleep=gate
    )
    await service.assign({P0, P1})
    clock.advance(timedelta(seconds=2))

    await _april_after_may(service, caught_up)

    periods = {period for _, _, period in latest(output)}
    # months alone, at every level (a policy counts a year and 13 months on too)
    assert {"2024-04", "2024-05"} <= periods
    assert all(CONFIG.calendar.fiscal_year_of_month(p) and len(p) == 7 for p in periods)
    may = ("agent:A1", "lapse_rate", "2024-05")
    assert latest(output)[may].denominator == 0  # as published before April's policy
    await asyncio.sleep(0)  # the publication to follow starts
    assert gate.waits == [8.0]  # 10 s after the last complete publication (at the start)
    assert service.pending_scores > 0
    assert (await store.unscored(topics.SCORING_GROUP, {P0, P1})).touched  # not marked
    assert registry.get_sample_value("kpi_scoring_event_to_score_seconds_count") == 2
    assert registry.get_sample_value("kpi_scoring_event_to_summary_seconds_count") == 0

    gate.open()
    await service.published()

    assert latest(output)[may].denominator == 1  # April's policy is in force in May
    assert {"FY2024-Q1", "FY2024-H1", "FY2024"} <= {period for _, _, period in latest(output)}
    assert service.pending_scores == 0
    assert not (await store.unscored(topics.SCORING_GROUP, {P0, P1})).touched
    assert registry.get_sample_value("kpi_scoring_event_to_summary_seconds_count") == 2
    reference_output = RecordingOutput()
    reference, _ = build(MemoryStateStore(), reference_output, clock)
    await reference.assign({P0, P1})
    await _april_after_may(reference, caught_up=False)
    await reference.publish()  # complete, after both batches
    assert comparable(latest(output)) == comparable(latest(reference_output))


async def test_a_stop_sends_what_was_to_follow_at_once() -> None:
    store, output, clock = MemoryStateStore(), RecordingOutput(), FakeClock(WALL)
    gate = Gate()
    service, _ = build(
        store, output, clock, complete_every=timedelta(seconds=10), publication_sleep=gate
    )
    await service.assign({P0, P1})
    await _april_after_may(service, caught_up=True)
    assert service.pending_scores > 0

    assert await service.publish() > 0  # on the way down: complete, without the wait

    assert service.pending_scores == 0
    assert not (await store.unscored(topics.SCORING_GROUP, {P0, P1})).touched
    await service.published()  # the publication that was to follow was called off
    assert latest(output)[("agent:A1", "lapse_rate", "2024-05")].denominator == 1
