"""The promises every `ScoreQueries` keeps (scoring's read model), written once and run against
each implementation.

A test module subclasses `ScoreQueriesContract` as `Test...` and gives the class two fixtures:
`empty`, a read model before scoring applied anything, and `filled`, one that holds the
`SCENARIO`: for the fake, the scores and clock of `scenario_scores()` and `SCENARIO_CLOCK`; for
an adapter on scoring's state, the events applied by the scoring service (`apply_scenario`).
`tests/unit/scoring/test_read_model.py` runs it on the fake and on the adapter over the
in-memory state store, `tests/integration/test_scoring_read_model.py` on MongoDB.

The scenario: agent A1 (team T01, branch B01, region R1, company ACME) gets three surveys,
scored 5 in April 2024 and 9 and 7 in May, the last one on 28 May; every event carries ingest's
watermark stamp of 27 May. So `satisfaction_mean` is 50 in April, 80 in May and 70 in the first
quarter (April to June); over the 30 days up to the latest event (R30D), April is out: 80.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Final

from prometheus_client import CollectorRegistry

from services.scoring.domain.batch import InputRecord
from services.scoring.metrics import ScoringMetrics
from services.scoring.ports import StateStore
from services.scoring.read_model import GroupClock, ScoreQueries
from services.scoring.scores import ScoreBuilder
from services.scoring.service import ScoringService
from shared import topics
from shared.kpi.config import KpiConfig
from shared.messages.score import Score
from tests.support.fakes import RecordingOutput
from tests.support.scoring_events import survey

KPI: Final = "satisfaction_mean"
AGENT: Final = "agent:A1"
QUIET_AGENT: Final = "agent:A2"  # in the org, but no event reached it
PATH: Final = ("company:ACME", "region:R1", "branch:B01", "team:T01", AGENT)
WINDOWED: Final = ("company:ACME", "region:R1", "branch:B01")  # rolling windows: branch up
WALL: Final = datetime(2026, 11, 1, 12, tzinfo=UTC)  # when scoring committed the batch
STAMP: Final = datetime(2024, 5, 27, tzinfo=UTC)  # ingest's low watermark on every event
LATEST: Final = datetime(2024, 5, 28, 1, tzinfo=UTC)
EARLIEST: Final = datetime(2024, 4, 5, 1, tzinfo=UTC)
SCENARIO: Final = tuple(
    event.model_copy(update={"watermark": STAMP})
    for event in (
        survey(1, "A1", EARLIEST, score=5),
        survey(2, "A1", datetime(2024, 5, 20, 1, tzinfo=UTC), score=9),
        survey(3, "A1", LATEST, score=7),
    )
)
SCENARIO_CLOCK: Final = GroupClock(
    low=STAMP, latest=LATEST, committed_at=WALL, backlog=False, earliest=EARLIEST
)
# Where scoring stands on its input after the scenario: one partition, three records applied.
SCENARIO_POSITIONS: Final = {(topics.EVENTS, 0): len(SCENARIO)}
# The scenario's satisfaction_mean of every entity on the agent's path, by period.
MEANS: Final = {"2024-04": Decimal(50), "2024-05": Decimal(80), "FY2024-Q1": Decimal(70)}
WINDOW_MEAN: Final = Decimal(80)


async def apply_scenario(state: StateStore, config: KpiConfig) -> None:
    """Apply the scenario's events to scoring's state as the scoring service does, in one
    batch of one input partition with nothing left to read, committed at `WALL`."""
    builder = ScoreBuilder(
        catalogue=config.catalogue,
        calendar=config.calendar,
        org=config.org,
        targets=config.targets,
        store=state,
    )
    service = ScoringService(
        store=state,
        output=RecordingOutput(),
        calendar=config.calendar,
        scorer=builder,
        metrics=ScoringMetrics(CollectorRegistry()),
        group=topics.SCORING_GROUP,
        wall=lambda: WALL,
    )
    partition = (topics.EVENTS, 0)
    await service.assign({partition})
    records = [InputRecord(*partition, offset, e) for offset, e in enumerate(SCENARIO)]
    result = await service.handle(records, {partition: False})
    assert result.applied == len(SCENARIO)


def _score(entity: str, period: str, value: Decimal) -> Score:
    return Score(
        score_id=Score.make_id(
            entity, period, KPI, numerator=value, denominator=Decimal(1), revision=1
        ),
        entity=entity,
        period=period,
        kpi=KPI,
        value=value,
        numerator=value,
        denominator=Decimal(1),
        target=None,
        attainment=None,
        revision=1,
        as_of=LATEST,
    )


def scenario_scores() -> list[Score]:
    """The scenario as scores, to fill a fake with: the KPI the contract reads, for every
    entity on the path and period, and the rolling window from branch level up."""
    scores = [_score(e, period, mean) for e in PATH for period, mean in MEANS.items()]
    return scores + [_score(e, "R30D", WINDOW_MEAN) for e in WINDOWED]


def _values(scores: Sequence[Score]) -> dict[str, Decimal | None]:
    return {s.kpi: s.value for s in scores}


def _active(scores: Sequence[Score]) -> bool:
    return any(s.numerator is not None and s.numerator != 0 for s in scores)


class ScoreQueriesContract:
    """Subclasses provide the `empty` and `filled` fixtures."""

    async def test_nothing_applied_reads_as_no_clock_and_no_scores(
        self, empty: ScoreQueries
    ) -> None:
        assert await empty.clock() is None
        assert await empty.current_scores(AGENT, "2024-05") == []
        assert await empty.current_scores("branch:B01", "R30D") == []
        assert await empty.period_scores([AGENT, "branch:B01"], "2024-05") == {}
        assert await empty.window_scores(["branch:B01"], "R30D") == {}

    async def test_the_first_generation_answers_before_any_recompute(
        self, empty: ScoreQueries, filled: ScoreQueries
    ) -> None:
        assert await empty.generation() == "g0"
        assert await filled.generation() == "g0"
        assert await filled.republished_from("g0") is None  # no `--from`: every period

    async def test_the_clock_is_scorings_event_time(self, filled: ScoreQueries) -> None:
        assert await filled.clock() == SCENARIO_CLOCK

    async def test_positions_are_the_next_offsets_to_apply(self, filled: ScoreQueries) -> None:
        asked = [(topics.EVENTS, 0), (topics.EVENTS, 1)]

        assert await filled.positions(asked) == SCENARIO_POSITIONS
        assert await filled.positions([(topics.EVENTS, 1)]) == {}

    async def test_nothing_applied_has_no_position(self, empty: ScoreQueries) -> None:
        assert await empty.positions([(topics.EVENTS, 0)]) == {}

    async def test_current_scores_of_every_entity_on_the_path(self, filled: ScoreQueries) -> None:
        for entity in PATH:
            for period, mean in MEANS.items():
                scores = await filled.current_scores(entity, period)

                assert _values(scores)[KPI] == mean, (entity, period)
                assert {(s.entity, s.period, s.as_of) for s in scores} == {(entity, period, LATEST)}

    async def test_one_kpi_alone(self, filled: ScoreQueries) -> None:
        (score,) = await filled.current_scores(AGENT, "2024-05", kpi=KPI)

        assert (score.entity, score.period, score.kpi, score.value) == (
            AGENT,
            "2024-05",
            KPI,
            Decimal(80),
        )

    async def test_period_scores_in_bulk_are_the_current_scores(self, filled: ScoreQueries) -> None:
        entities = [AGENT, QUIET_AGENT, "branch:B01"]

        found = await filled.period_scores(entities, "2024-05")

        assert set(found) == set(entities)
        for entity in entities:
            assert found[entity] == await filled.current_scores(entity, "2024-05")
        assert _values(found[AGENT])[KPI] == _values(found["branch:B01"])[KPI] == Decimal(80)

    async def test_an_entity_nothing_reached_counts_nothing(self, filled: ScoreQueries) -> None:
        found = await filled.period_scores([QUIET_AGENT], "2024-05")

        assert not _active(found[QUIET_AGENT])
        assert not _active(await filled.current_scores(QUIET_AGENT, "2024-05"))

    async def test_a_rolling_window_ends_at_the_latest_event(self, filled: ScoreQueries) -> None:
        found = await filled.window_scores([*PATH, QUIET_AGENT], "R30D")

        assert set(found) == set(WINDOWED)  # kept from branch level up; agents, teams absent
        for entity in WINDOWED:
            assert _values(found[entity])[KPI] == WINDOW_MEAN, entity
            assert {(s.entity, s.period, s.as_of) for s in found[entity]} == {
                (entity, "R30D", LATEST)
            }
            assert found[entity] == await filled.current_scores(entity, "R30D")
