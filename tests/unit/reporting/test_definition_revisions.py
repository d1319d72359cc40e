"""After `kpi recompute` switches scoring's state generation, reporting rebuilds every
scorecard under the new definitions, final ones included, and republishes exactly those whose
figures changed, as revisions with the reason `definition_change` naming both versions."""

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from services.reporting.definitions_follow import DefinitionsFollower
from services.reporting.service import ReportingService, reading
from shared.messages.definitions import Definitions, RevisionReason
from shared.messages.score import Score
from shared.messages.scorecard import ScorecardStatus
from tests.support.fake_scorecard_store import MemoryScorecardStore
from tests.support.fakes import FakeClock, RecordingOutput
from tests.unit.reporting.test_reporting_service import (
    GOOD,
    WALL_TIME,
    FakeReader,
    build,
    cards_of,
    jst,
)

OLD = Definitions(hash="0123456789abcdef", label="FY2024 scheme")
NEW = Definitions(hash="fedcba9876543210", label="FY2024 restated")


class Generations:
    def __init__(self) -> None:
        self.active = "g0"
        self.since: str | None = None  # `kpi recompute --from` of the move to `active`
        self.asked: list[str] = []

    async def generation(self) -> str:
        return self.active

    async def republished_from(self, since: str) -> str | None:
        self.asked.append(since)
        return self.since


def _with(service: ReportingService, definitions: Definitions) -> ReportingService:
    service._definitions = definitions
    return service


async def test_a_switch_republishes_the_changed_scorecards_final_ones_included() -> None:
    reader, store, wall = FakeReader(), MemoryScorecardStore(), FakeClock(WALL_TIME)
    old, _ = build(reader, store, wall)
    reader.values = {"branch:B01": GOOD, "agent:A1": GOOD}
    reader.time = jst(2024, 6, 10)  # April final (lateness passed), May open
    generations = Generations()
    rebuilt: list[RecordingOutput] = []

    def rebuild() -> ReportingService:
        service, output = build(reader, store, wall)
        rebuilt.append(output)
        return _with(service, NEW)

    follower = DefinitionsFollower(
        _with(old, OLD), scores=generations, store=store, rebuild=rebuild
    )
    first = await follower.tick()
    assert {c.period for c in first} >= {"2024-04", "2024-05"}
    assert store.built_from == "g0"
    april_b01 = next(c for c in first if (c.entity, c.period) == ("branch:B01", "2024-04"))
    assert april_b01.status is ScorecardStatus.FINAL

    # The recomputed generation: branch B01's renewal rate is lower under the new definitions;
    # every other figure stays.
    reader.values = {"branch:B01": GOOD | {"renewal_rate": Decimal("0.5")}, "agent:A1": GOOD}
    generations.active = "g20250401T091500"
    wall.now += timedelta(seconds=5)
    revised = await follower.tick()

    assert len(rebuilt) == 1
    changed = {(c.entity, c.period) for c in revised}
    assert ("branch:B01", "2024-04") in changed
    assert ("branch:B01", "2024-05") in changed
    assert {entity for entity, _ in changed} <= {"branch:B01", "region:R1", "company:ACME"}
    assert not any(entity == "agent:A1" for entity, _ in changed), "unchanged: not republished"
    april = next(c for c in revised if (c.entity, c.period) == ("branch:B01", "2024-04"))
    assert (april.revision, april.status) == (april_b01.revision + 1, ScorecardStatus.FINAL)
    assert april.revision_reason is RevisionReason.DEFINITION_CHANGE
    assert (april.definitions, april.previous_definitions) == (NEW, OLD)
    assert april.final_score < april_b01.final_score
    assert cards_of(rebuilt[0]) == [c for c in revised if c.revision_reason is not None]
    assert store.built_from == "g20250401T091500"

    # Rolled back: the old figures are republished, the same way.
    reader.values = {"branch:B01": GOOD, "agent:A1": GOOD}
    generations.active = "g0"
    back = [c for c in await follower.tick() if c.revision_reason is not None]
    april_back = next(c for c in back if (c.entity, c.period) == ("branch:B01", "2024-04"))
    assert april_back.final_score == april_b01.final_score
    assert april_back.previous_definitions == NEW

    # Nothing changes again: nothing more is published.
    assert [c for c in await follower.tick() if c.revision_reason is not None] == []


async def test_a_restart_after_a_switch_it_did_not_see_revises_then() -> None:
    reader, store, wall = FakeReader(), MemoryScorecardStore(), FakeClock(WALL_TIME)
    reader.values = {"branch:B01": GOOD}
    reader.time = jst(2024, 5, 10)
    generations = Generations()
    service, _ = build(reader, store, wall)
    follower = DefinitionsFollower(
        service, scores=generations, store=store, rebuild=lambda: service
    )
    await follower.tick()

    generations.active = "g20250401T091500"  # switched while reporting was down
    reader.values = {"branch:B01": GOOD | {"satisfaction_mean": Decimal(70)}}
    again, _ = build(reader, store, wall)
    restarted = DefinitionsFollower(again, scores=generations, store=store, rebuild=lambda: again)
    revised = [c for c in await restarted.tick() if c.revision_reason is not None]
    assert ("branch:B01", "2024-04", 2) in {(c.entity, c.period, c.revision) for c in revised}


async def test_scorecards_read_across_a_switch_are_not_published() -> None:
    reader, store, wall = FakeReader(), MemoryScorecardStore(), FakeClock(WALL_TIME)
    reader.values = {"branch:B01": GOOD}
    reader.time = jst(2024, 4, 20)  # nothing closes yet
    generations = Generations()
    service, output = build(reader, store, wall)
    rebuilt, rebuilt_output = build(reader, store, wall)
    follower = DefinitionsFollower(
        _with(service, OLD), scores=generations, store=store, rebuild=lambda: _with(rebuilt, NEW)
    )
    await follower.tick()  # the first tick records g0 before anything closes
    assert output.sent == []

    # The switch lands while April's scorecards are being read: none of them goes out.
    reader.time = jst(2024, 6, 2)  # April and May close
    reads = reader.period_scores

    async def switching(entities: Sequence[str], period: str) -> dict[str, list[Score]]:
        generations.active = "g20250401T091500"
        return await reads(entities, period)

    reader.period_scores = switching  # type: ignore[method-assign]
    assert await follower.tick() == []
    assert output.sent == []
    assert store.built_from == "g0"

    # The next tick follows: built under the new definitions, nothing of the old ones left.
    reader.period_scores = reads  # type: ignore[method-assign]
    published = await follower.tick()
    assert {c.period for c in published} >= {"2024-04", "2024-05"}
    assert {c.definitions for c in published} == {NEW}
    assert cards_of(rebuilt_output) == published
    assert store.built_from == "g20250401T091500"


async def test_what_events_changed_after_a_card_went_final_is_not_the_switchs_doing() -> None:
    # April went final; then a renewal counted by its due month moved April's renewal rate
    # (a final scorecard is never revised for it). A switch that changes nothing of April
    # republishes nothing: each card is compared with the previous generation's own rebuild.
    before_switch, after_switch = FakeReader(), FakeReader()
    store, wall = MemoryScorecardStore(), FakeClock(WALL_TIME)
    before_switch.values = after_switch.values = {"branch:B01": GOOD}
    before_switch.time = after_switch.time = jst(2024, 6, 10)
    generations = Generations()
    old, _ = build(before_switch, store, wall)
    new, new_output = build(after_switch, store, wall)
    follower = DefinitionsFollower(
        _with(old, OLD),
        scores=generations,
        store=store,
        rebuild=lambda: _with(new, NEW),
        previous=lambda service, _: reading(service, before_switch),
    )
    await follower.tick()
    late = GOOD | {"renewal_rate": Decimal("0.6")}
    before_switch.values = after_switch.values = {"branch:B01": late}  # after April went final

    generations.active = "g20250401T091500"
    revised = [c for c in await follower.tick() if c.revision_reason is not None]
    assert revised == []
    assert new_output.sent == []

    # Had the switch changed it too, it is republished, with both changes in its figures.
    generations.active = "g20250402T000000"
    after_switch.values = {"branch:B01": late | {"satisfaction_mean": Decimal(70)}}
    revised = [c for c in await follower.tick() if c.revision_reason is not None]
    assert ("branch:B01", "2024-04") in {(c.entity, c.period) for c in revised}


async def test_a_recomputation_from_a_period_leaves_the_final_ones_before_it() -> None:
    reader, store, wall = FakeReader(), MemoryScorecardStore(), FakeClock(WALL_TIME)
    old, _ = build(reader, store, wall)
    reader.values = {"branch:B01": GOOD, "agent:A1": GOOD}
    reader.time = jst(2024, 8, 5)  # April to June and FY2024-Q1 final, July closed, open
    generations = Generations()

    def rebuild() -> ReportingService:
        return _with(build(reader, store, wall)[0], NEW)

    follower = DefinitionsFollower(
        _with(old, OLD), scores=generations, store=store, rebuild=rebuild
    )
    first = await follower.tick()
    assert {(c.period, c.status) for c in first if c.entity == "branch:B01"} == {
        ("2024-04", ScorecardStatus.FINAL),
        ("2024-05", ScorecardStatus.FINAL),
        ("2024-06", ScorecardStatus.FINAL),
        ("FY2024-Q1", ScorecardStatus.FINAL),
        ("2024-07", ScorecardStatus.PROVISIONAL),
    }
    published = {(c.entity, c.period): c for c in first}

    # Recomputed `--from 2024-06`: B01's renewal rate changes in every period. June, July and
    # FY2024-Q1 (April to June: it ends after June starts) are republished; April and May not.
    reader.values = {"branch:B01": GOOD | {"renewal_rate": Decimal("0.5")}, "agent:A1": GOOD}
    generations.active, generations.since = "g20250401T091500", "2024-06"
    wall.now += timedelta(seconds=5)
    revised = await follower.tick()
    assert generations.asked == ["g0"]  # the move from the generation reporting built from
    assert {(c.entity, c.period) for c in revised} == {
        ("branch:B01", "2024-06"),
        ("branch:B01", "FY2024-Q1"),
        ("branch:B01", "2024-07"),
    }
    assert {c.revision_reason for c in revised} == {RevisionReason.DEFINITION_CHANGE}
    # April and May stay as published: their newest revision is the one of before.
    for period in ("2024-04", "2024-05"):
        newest = await store.latest_of_period(period)
        assert newest["branch:B01"] == published[("branch:B01", period)]

    # Recomputed again `--from 2024-08`: no final period is republished; July, closed but
    # not final yet, is (its next close would publish the new figures anyway).
    reader.values = {"branch:B01": GOOD | {"renewal_rate": Decimal("0.4")}, "agent:A1": GOOD}
    generations.active, generations.since = "g20250402T000000", "2024-08"
    wall.now += timedelta(seconds=5)
    again = await follower.tick()
    assert [(c.entity, c.period) for c in again] == [("branch:B01", "2024-07")]
    july = again[0]
    assert (july.revision, july.revision_reason) == (3, RevisionReason.DEFINITION_CHANGE)
    # And the close that follows leaves the final periods alone.
    wall.now += timedelta(seconds=5)
    assert await follower.tick() == []
