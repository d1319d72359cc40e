"""Scoring's read model on the real local database: the scoring service applies the contract's
scenario to `MongoStateStore`, and `mongo_score_queries` reads it back as the fake promises
(`tests/support/score_queries_contract.py`)."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient

from services.scoring.mongo_store import MongoStateStore
from services.scoring.read_model import ScoreQueries, mongo_score_queries
from shared.kpi.config import load_kpi_config
from tests.support.score_queries_contract import (
    ScoreQueriesContract,
    apply_scenario,
)

pytestmark = pytest.mark.integration

CONFIG: Final = load_kpi_config(Path("config"))


def database_name(unique: str) -> str:
    return "q_" + unique.removeprefix("test_")  # at most 63 characters


class TestMongoScoreQueries(ScoreQueriesContract):
    @pytest_asyncio.fixture(loop_scope="session")
    async def empty(
        self, mongo_client: AsyncMongoClient[dict[str, Any]], unique: str
    ) -> AsyncIterator[ScoreQueries]:
        name = database_name(unique)
        await MongoStateStore(mongo_client, name).ensure_schema()
        yield mongo_score_queries(mongo_client, name, CONFIG)
        await mongo_client.drop_database(name)

    @pytest_asyncio.fixture(loop_scope="session")
    async def filled(
        self, mongo_client: AsyncMongoClient[dict[str, Any]], unique: str
    ) -> AsyncIterator[ScoreQueries]:
        name = database_name(unique)
        state = MongoStateStore(mongo_client, name)
        await state.ensure_schema()
        await apply_scenario(state, CONFIG)
        yield mongo_score_queries(mongo_client, name, CONFIG)
        await mongo_client.drop_database(name)
