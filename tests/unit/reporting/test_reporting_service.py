"""Reporting's period close with fakes for scoring's state, the store and the broker: periods
close by the clock (quiet entities included), late changes give revision 2 with the changed
figures and nothing for the unchanged, and the allowed lateness ends in a final revision."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Final

from prometheus_client import CollectorRegistry

from services.reporting.closing import CloseClock, closed_periods, horizon_of
from services.reporting.domain import load_profiles
from services.reporting.service import ReportingMetrics, ReportingService
from services.scoring.read_model import GroupClock
from shared import topics
from shared.config import OrgChart
from shared.config.loading import load_calendar
from shared.kpi.catalogue import load_catalogue
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.messages.score import Score
from shared.messages.scorecard import Scorecard, ScorecardStatus
from tests.support.fake_scorecard_store import MemoryScorecardStore
from tests.support.fakes import FakeClock, RecordingOutput

CONFIG: Final = Path("config")
CALENDAR: Final = FiscalCalendar(load_calendar(CONFIG / "calendar.yaml"))
CATALOGUE: Final = load_catalogue(CONFIG / "kpis.yaml")
WALL_TIME: Final = datetime(2030, 1, 1, tzinfo=UTC)  # long after every period here
ORG: Final = OrgChart.from_document(
    {
        "company": "ACME",
        "regions": [{"id": "R1", "coefficient": 1.1}],
        "branches": [
            {"id": "B01", "region": "R1", "headcount": 2},
            {"id": "B12", "region": "R1", "headcount": 3},
        ],
        "teams": [{"id": "T01", "branch": "B01"}, {"id": "T02", "branch": "B12"}],
        "agents": [
            {"id": "A1", "team": "T01", "phone": "+81-90-0000-0001", "from": "2020-04-01"},
            {"id": "A2", "team": "T01", "phone": "+81-90-0000-0002", "from": "2020-04-01"},
        ],
    }
)
ENTITIES: Final = {
    "company:ACME", "region:R1", "branch:B01", "branch:B12", "team:T01", "team:T02",
    "agent:A1", "agent:A2",
}  # fmt: skip


class FakeReader:
    def __init__(self) -> None:
        self.time: datetime | None = None
        self.earliest: datetime | None = None
        self.values: dict[str, dict[str, Decimal]] = {}
        self.backlog = False  # the flag of scoring's last commit

    async def clock(self) -> GroupClock | None:
        if self.time is None:
            return None
        return GroupClock(self.time, self.time, None, self.backlog, earliest=self.earliest)

    async def period_scores(self, entities: Sequence[str], period: str) -> dict[str, list[Score]]:
        out: dict[str, list[Score]] = {}
        for entity in entities:
            out[entity] = [
                Score(
                    score_id="x",
                    entity=entity,
                    period=period,
                    kpi=kpi,
                    value=value,
                    numerator=value,
                    denominator=Decimal(1),
                    target=CATALOGUE[kpi].default_target,
                    attainment=None,
                    revision=1,
                    as_of=self.time or datetime(2024, 1, 1, tzinfo=UTC),
                )
                for kpi, value in self.values.get(entity, {}).items()
            ]
        return out


def jst(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC) - timedelta(hours=9)


class FakeUpstream:
    """Ingest's backlog as a test sets it; counts how often it was asked."""

    def __init__(self, idle: bool = True, sees_scoring: bool = False) -> None:
        self.is_idle = idle
        self.sees_scoring = sees_scoring
        self.asked = 0

    async def idle(self) -> bool:
        self.asked += 1
        return self.is_idle


def build(
    reader: FakeReader,
    store: MemoryScorecardStore,
    wall: FakeClock,
    upstream: FakeUpstream | None = None,
) -> tuple[ReportingService, RecordingOutput]:
    output = RecordingOutput()
    service = ReportingService(
        config=load_profiles(CONFIG, CATALOGUE),
        catalogue=CATALOGUE,
        calendar=CALENDAR,
        org=ORG,
        reader=reader,
        store=store,
        output=output,
        metrics=ReportingMetrics(CollectorRegistry()),
        wall=wall,
        upstream=upstream,
    )
    return service, output


def cards_of(output: RecordingOutput) -> list[Scorecard]:
    return [Scorecard.model_validate_json(m.value) for m in output.on(topics.SCORECARDS)]


GOOD: Final = {"renewal_rate": Decimal("0.95"), "satisfaction_mean": Decimal(90)}


async def test_a_month_closes_by_the_clock_for_every_entity_quiet_ones_included() -> None:
    reader, store, wall = FakeReader(), MemoryScorecardStore(), FakeClock(WALL_TIME)
    service, output = build(reader, store, wall)
    reader.values = {"branch:B01": GOOD, "agent:A1": GOOD}
    reader.time = jst(2024, 4, 30, 18)
    assert await service.tick() == []  # April is still open

    wall.now += timedelta(hours=7)  # nothing happens, but the clock runs on past midnight
    published = await service.tick()

    assert {c.entity for c in published} == ENTITIES
    assert {(c.period, c.revision, c.status) for c in published} == {
        ("2024-04", 1, ScorecardStatus.PROVISIONAL)
    }
    quiet = next(c for c in published if c.entity == "branch:B12")
    assert quiet.activity is False
    assert any("no event" in note.lower() for note in quiet.notes), quiet.notes
    assert next(c for c in published if c.entity == "branch:B01").activity is True
    assert cards_of(output) == published
    assert output.on(topics.SCORECARDS)[0].key == published[0].entity.encode()


async def test_a_backfill_first_seen_at_its_end_closes_every_month_it_brought() -> None:
    # The first reading of the clock is already March 2025 (a short backfill, read whole
    # before the first tick): closing starts from the fiscal year of the earliest event.
    reader, store, wall = FakeReader(), MemoryScorecardStore(), FakeClock(WALL_TIME)
    service, _ = build(reader, store, wall)
    reader.values = {"branch:B01": GOOD}
    reader.time, reader.earliest = jst(2025, 4, 2), jst(2024, 4, 1, 9)
    published = await service.tick()
    months = {c.period for c in published if c.entity == "branch:B01"}
    assert {"2024-04", "2024-12", "2025-03", "FY2024-Q1", "FY2024"} <= months


async def test_a_late_change_is_revision_2_and_the_unchanged_are_not_republished() -> None:
    reader, store, wall = FakeReader(), MemoryScorecardStore(), FakeClock(WALL_TIME)
    service, _ = build(reader, store, wall)
    reader.values = {"branch:B01": GOOD}
    reader.time = jst(2024, 5, 2)
    first = await service.tick()
    assert {c.period for c in first} == {"2024-04"}
    assert await service.tick() == []  # nothing changed: nothing published

    reader.values = {"branch:B01": GOOD | {"renewal_rate": Decimal("0.5")}}
    reader.time = jst(2024, 5, 3)
    revised = await service.tick()

    assert [(c.entity, c.revision, c.status) for c in revised] == [
        ("branch:B01", 2, ScorecardStatus.REVISED)
    ]
    old = next(c for c in first if c.entity == "branch:B01")
    line = next(k for k in revised[0].kpis if k.kpi == "renewal_rate")
    assert line.actual == Decimal("0.5")
    assert revised[0].final_score < old.final_score
    assert revised[0].scorecard_id != old.scorecard_id


async def test_after_the_allowed_lateness_every_scorecard_is_final_and_never_revised() -> None:
    reader, store, wall = FakeReader(), MemoryScorecardStore(), FakeClock(WALL_TIME)
    service, _ = build(reader, store, wall)
    reader.values = {"branch:B01": GOOD}
    reader.time = jst(2024, 5, 2)
    await service.tick()
    reader.time = jst(2024, 5, 9)  # 7 days after the close of April
    final = await service.tick()

    april = [c for c in final if c.period == "2024-04"]
    assert {c.entity for c in april} == ENTITIES
    assert {(c.revision, c.status) for c in april} == {(2, ScorecardStatus.FINAL)}
    assert "2024-04" in store.final

    reader.values = {"branch:B01": {"renewal_rate": Decimal("0.1")}}
    reader.time = jst(2024, 5, 10)
    assert [c for c in await service.tick() if c.period == "2024-04"] == []


async def test_a_replayed_year_starts_at_its_fiscal_year_and_closes_in_order() -> None:
    reader, store, wall = FakeReader(), MemoryScorecardStore(), FakeClock(WALL_TIME)
    service, _ = build(reader, store, wall)
    reader.time = jst(2024, 7, 15)
    published = await service.tick()

    assert store.horizon_month == "2024-04"
    assert list(dict.fromkeys(c.period for c in published)) == [
        "2024-04", "2024-05", "2024-06", "FY2024-Q1"
    ]  # fmt: skip
    june = next(c for c in published if c.period == "2024-06" and c.entity == "branch:B01")
    may = next(c for c in published if c.period == "2024-05" and c.entity == "branch:B01")
    assert june.previous_final_score == may.final_score


def test_the_close_clock_follows_stream_time_and_runs_on_while_it_is_quiet() -> None:
    clock = CloseClock()
    t0, wall = jst(2024, 4, 30, 23), datetime(2030, 1, 1, tzinfo=UTC)
    assert clock.now(None, wall) is None
    assert clock.now(GroupClock(t0, t0, None), wall) == t0
    assert clock.now(GroupClock(t0, t0, None), wall + timedelta(hours=2)) == t0 + timedelta(hours=2)
    later = jst(2024, 6, 1)
    assert clock.now(GroupClock(later, later, None), wall + timedelta(hours=3)) == later


def test_the_close_clock_runs_on_only_once_scoring_has_been_quiet_for_the_idle_time() -> None:
    clock = CloseClock(timedelta(seconds=30))
    low, wall = jst(2024, 5, 31, 23) + timedelta(seconds=3590), datetime(2030, 1, 1, tzinfo=UTC)
    latest = low + timedelta(days=3)
    busy = GroupClock(low, latest, committed_at=wall - timedelta(seconds=20))
    # a backfill that committed 20 s ago: the clock is the low watermark, not low + 20 s, and
    # not the latest event time, which some input may be far ahead of the others at
    assert clock.now(busy, wall) == low
    quiet = GroupClock(low, latest, committed_at=wall - timedelta(seconds=40))
    # quiet: every input is idle, so the latest event time is settled, and the clock runs on
    assert clock.now(quiet, wall) == latest + timedelta(seconds=40)
    # it never moves back, even if the pipeline becomes busy again
    assert clock.now(busy, wall) == latest + timedelta(seconds=40)


def test_a_quiet_scoring_waiting_for_a_busy_ingest_does_not_make_the_clock_run_on() -> None:
    clock = CloseClock(timedelta(seconds=30))
    low, wall = jst(2024, 5, 31, 12), datetime(2030, 1, 1, tzinfo=UTC)
    waiting = GroupClock(low, low + timedelta(days=40), committed_at=wall - timedelta(minutes=2))
    # scoring caught up with ingest two minutes ago; ingest still has upstream records
    assert clock.now(waiting, wall, upstream_idle=False) == low
    # once ingest has read everything too, the pipeline is quiet
    assert clock.now(waiting, wall, upstream_idle=True) == low + timedelta(days=40, minutes=2)


async def test_ingest_is_asked_only_when_scoring_looks_quiet_and_holds_the_close() -> None:
    reader, store, wall = FakeReader(), MemoryScorecardStore(), FakeClock(WALL_TIME)
    upstream = FakeUpstream(idle=False)
    service, _ = build(reader, store, wall, upstream)
    reader.values = {"branch:B01": GOOD, "agent:A1": GOOD}
    reader.time = jst(2024, 4, 30, 18)
    await service.tick()
    assert upstream.asked == 1  # the reader's clock has no commit time: quiet

    wall.now += timedelta(hours=7)
    assert await service.tick() == []  # ingest is busy: April stays open
    upstream.is_idle = True
    published = await service.tick()
    assert {c.period for c in published} == {"2024-04"}


def test_a_long_batch_in_a_backlog_does_not_make_the_close_clock_run_on() -> None:
    clock = CloseClock(timedelta(seconds=30))
    low, wall = jst(2024, 5, 31, 12), datetime(2030, 1, 1, tzinfo=UTC)
    reading = GroupClock(low, low + timedelta(days=300), wall - timedelta(minutes=2), True)
    assert clock.now(reading, wall) == low


def test_a_stale_backlog_flag_does_not_hold_the_clock_once_scoring_is_seen_caught_up() -> None:
    # A partition keeps the backlog flag of its last batch until its next one, which never
    # comes once nothing is left to read (tests/e2e/test_console_stack.py stopped closing on
    # it). The pipeline check that sees scoring's positions at the ends of its input says so.
    clock = CloseClock(timedelta(seconds=30))
    low, wall = jst(2024, 5, 31, 12), datetime(2030, 1, 1, tzinfo=UTC)
    reading = GroupClock(None, low, wall - timedelta(minutes=2), True)
    assert clock.now(reading, wall) is None
    assert clock.now(reading, wall, caught_up=True) == low + timedelta(minutes=2)


async def test_the_upstream_is_asked_despite_a_backlog_flag_only_when_it_sees_scoring() -> None:
    for sees_scoring, closes in ((False, False), (True, True)):
        reader, store, wall = FakeReader(), MemoryScorecardStore(), FakeClock(WALL_TIME)
        reader.values = {"branch:B01": GOOD, "agent:A1": GOOD}
        reader.time = jst(2024, 4, 30, 18)
        reader.backlog = True
        upstream = FakeUpstream(idle=True, sees_scoring=sees_scoring)
        service, _ = build(reader, store, wall, upstream)
        await service.tick()
        wall.now += timedelta(hours=7)
        published = await service.tick()
        assert ({c.period for c in published} == {"2024-04"}) is closes
        assert (upstream.asked > 0) is sees_scoring


def test_the_close_clock_waits_while_the_low_watermark_is_not_known() -> None:
    clock = CloseClock(timedelta(seconds=30))
    wall = datetime(2030, 1, 1, tzinfo=UTC)
    holding = GroupClock(None, jst(2024, 6, 3), committed_at=wall)
    assert clock.now(holding, wall) is None


def test_closed_periods_and_the_horizon() -> None:
    assert horizon_of(CALENDAR, jst(2024, 9, 1)) == "2024-04"
    assert horizon_of(CALENDAR, jst(2025, 2, 1)) == "2024-04"
    periods = closed_periods(CALENDAR, "2024-04", jst(2025, 4, 1))
    assert periods[-4:] == ["2025-03", "FY2024-Q4", "FY2024-H2", "FY2024"]
    assert len(periods) == 12 + 4 + 2 + 1
