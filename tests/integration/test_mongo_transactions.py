"""PyMongo's async API against the real local database: transactions commit or leave nothing."""

from typing import Any

import pytest
from pymongo import AsyncMongoClient

pytestmark = pytest.mark.integration


class Boom(Exception):
    pass


async def test_a_committed_transaction_reads_back(
    mongo_client: AsyncMongoClient[dict[str, Any]], unique: str
) -> None:
    collection = mongo_client.kpi_test[unique]
    async with mongo_client.start_session() as session, await session.start_transaction():
        await collection.insert_one({"_id": "agent:A001|2024-04", "renewed": 3}, session=session)
        await collection.update_one(
            {"_id": "agent:A001|2024-04"}, {"$inc": {"renewed": 2}}, session=session
        )

    assert await collection.find_one({"_id": "agent:A001|2024-04"}) == {
        "_id": "agent:A001|2024-04",
        "renewed": 5,
    }


async def test_a_transaction_that_raises_leaves_nothing_behind(
    mongo_client: AsyncMongoClient[dict[str, Any]], unique: str
) -> None:
    collection = mongo_client.kpi_test[unique]
    await collection.insert_one({"_id": "before", "n": 1})

    async def write_then_fail() -> None:
        async with mongo_client.start_session() as session, await session.start_transaction():
            await collection.insert_one({"_id": "inside", "n": 2}, session=session)
            await collection.update_one({"_id": "before"}, {"$inc": {"n": 10}}, session=session)
            raise Boom

    with pytest.raises(Boom):
        await write_then_fail()

    assert await collection.find_one({"_id": "inside"}) is None
    assert await collection.find_one({"_id": "before"}) == {"_id": "before", "n": 1}
