"""Scoring's read model in memory: the fake other services' unit tests use, and the adapter's
reading of scoring's state on the in-memory state store, keep the same promises
(`tests/support/score_queries_contract.py`; `tests/integration/test_scoring_read_model.py` runs
them on MongoDB)."""

from decimal import Decimal
from pathlib import Path
from typing import Final

import pytest

from services.scoring.read_model import MemoryScoreQueries, ScoreQueries, StateScoreQueries
from shared.kpi.config import load_kpi_config
from tests.support.fake_state_store import MemoryStateStore
from tests.support.score_queries_contract import (
    SCENARIO_CLOCK,
    SCENARIO_POSITIONS,
    ScoreQueriesContract,
    apply_scenario,
    scenario_scores,
)

CONFIG: Final = load_kpi_config(Path("config"))


class TestMemoryScoreQueries(ScoreQueriesContract):
    @pytest.fixture
    def empty(self) -> MemoryScoreQueries:
        return MemoryScoreQueries()

    @pytest.fixture
    def filled(self) -> MemoryScoreQueries:
        return MemoryScoreQueries(scenario_scores(), SCENARIO_CLOCK, SCENARIO_POSITIONS)

    async def test_scores_without_a_clock_read_as_nothing_applied(self) -> None:
        queries = MemoryScoreQueries(scenario_scores())

        assert await queries.period_scores(["agent:A1"], "2024-05") == {}

        queries.set_clock(SCENARIO_CLOCK)
        assert await queries.period_scores(["agent:A1"], "2024-05") != {}

    async def test_a_newer_score_replaces_the_one_it_updates(self) -> None:
        old, *_ = scenario_scores()
        newer = old.model_copy(update={"value": Decimal(51), "revision": 2})
        queries = MemoryScoreQueries([old], SCENARIO_CLOCK)

        queries.put([newer])

        assert await queries.current_scores(old.entity, old.period) == [newer]


class TestStateScoreQueries(ScoreQueriesContract):
    @pytest.fixture
    def empty(self) -> ScoreQueries:
        return StateScoreQueries(MemoryStateStore(), CONFIG)

    @pytest.fixture
    async def filled(self) -> ScoreQueries:
        state = MemoryStateStore()
        await apply_scenario(state, CONFIG)
        return StateScoreQueries(state, CONFIG)

    async def test_served_scores_carry_the_definitions_they_were_computed_with(
        self, filled: ScoreQueries
    ) -> None:
        scores = await filled.current_scores("agent:A1", "2024-05")

        assert scores
        assert {score.definitions for score in scores} == {CONFIG.definitions}
