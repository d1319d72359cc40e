"""`MongoStateStore` against the real local database: one fenced transaction per batch.

The cases it shares with `MemoryStateStore` live in `tests/support/state_store_contract.py`."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient

from services.scoring.domain.model import Fact
from services.scoring.mongo_store import COUNTERS, MongoStateStore
from services.scoring.ports import StateStoreError
from shared.localstack.probes import free_port
from tests.support.state_store_contract import (
    GROUP,
    TOPIC,
    StateStoreContract,
    batch,
    move,
    nothing,
)

pytestmark = pytest.mark.integration


def database_name(unique: str) -> str:
    return "s_" + unique.removeprefix("test_")  # at most 63 characters


class TestMongoStateStore(StateStoreContract):
    @pytest_asyncio.fixture(loop_scope="session")
    async def store(
        self, mongo_client: AsyncMongoClient[dict[str, Any]], unique: str
    ) -> AsyncIterator[MongoStateStore]:
        name = database_name(unique)
        state = MongoStateStore(mongo_client, name)
        await state.ensure_schema()
        yield state
        await mongo_client.drop_database(name)

    async def test_record_ids_with_dots_and_dollars_round_trip(
        self, store: MongoStateStore
    ) -> None:
        facts: dict[str, list[Fact]] = {
            "P.2024.001": [{"a": 1}],
            "$weird": [],
            "x": [{"nested": {"list": [1, 2]}}],
        }
        await store.commit(batch(move(None, 1), records={"b1": facts}), nothing)

        assert await store.records(["b1"]) == {"b1": facts}

    async def test_the_schema_is_idempotent_and_indexed(
        self,
        store: MongoStateStore,
        mongo_client: AsyncMongoClient[dict[str, Any]],
        unique: str,
    ) -> None:
        await store.ensure_schema()
        await MongoStateStore(mongo_client, database_name(unique)).ensure_schema()

        indexes = await mongo_client[database_name(unique)][COUNTERS].index_information()
        assert indexes["counters_year_entity"]["key"] == [("fiscal_year", 1), ("entity", 1)]

    async def test_a_lost_database_is_a_state_store_error(self) -> None:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            f"mongodb://127.0.0.1:{free_port()}/?retryWrites=false", serverSelectionTimeoutMS=200
        )
        store = MongoStateStore(client, "nowhere")
        try:
            with pytest.raises(StateStoreError, match=f"{TOPIC}:0"):
                await store.commit(batch(move(None, 1)), nothing)
            with pytest.raises(StateStoreError):
                await store.positions(GROUP, [(TOPIC, 0)])
            with pytest.raises(StateStoreError):
                await store.counter_documents(["agent:A001|FY2024"])
        finally:
            await client.close()
