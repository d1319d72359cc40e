"""`MongoStateStore` against the real local database: one fenced transaction per batch.

The cases it shares with `MemoryStateStore` live in `tests/support/state_store_contract.py`."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient

from services.scoring.domain.model import Fact
from services.scoring.mongo_cached import StaleCache
from services.scoring.mongo_documents import AGENT_SHARDS, counter_location, record_key
from services.scoring.mongo_store import COUNTERS, RECORDS, MongoStateStore
from services.scoring.ports import BatchWrite, StateStoreError, StateStoreUnavailable
from services.scoring.state_format import FORMAT_ID, STATE_FORMAT
from shared.localstack.probes import free_port
from tests.support.state_store_contract import (
    GROUP,
    TOPIC,
    StateStoreContract,
    batch,
    counter,
    move,
    nothing,
)

pytestmark = pytest.mark.integration


def database_name(unique: str) -> str:
    return "s_" + unique.removeprefix("test_")  # at most 63 characters


class TestMongoStateStore(StateStoreContract):
    # Every promise holds with the documents read back each batch and with them kept between
    # batches (state_cache.py).
    @pytest_asyncio.fixture(loop_scope="session", params=[0, 1 << 20], ids=["read", "cached"])
    async def store(
        self, mongo_client: AsyncMongoClient[dict[str, Any]], unique: str, request: Any
    ) -> AsyncIterator[MongoStateStore]:
        name = database_name(unique)
        state = MongoStateStore(mongo_client, name, cache_bytes=request.param)
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

    async def test_agents_share_a_document_per_shard_and_year(
        self,
        store: MongoStateStore,
        mongo_client: AsyncMongoClient[dict[str, Any]],
        unique: str,
    ) -> None:
        agents = [f"agent:A{i:04d}" for i in range(500)]
        await store.commit(
            batch(
                move(None, 1),
                counters=[
                    *(counter(f"{a}|FY2024", {"2024-05/sales": 1}) for a in agents),
                    counter("team:T01|FY2024", {"2024-05/sales": 500}),
                ],
                records={f"policy|{a}|2024-05": {"P.1": [{"n": 1}]} for a in agents},
            ),
            nothing,
        )
        database = mongo_client[database_name(unique)]
        ids = {doc["_id"] async for doc in database[COUNTERS].find({}, {"_id": 1})}
        assert len(ids) == AGENT_SHARDS + 1
        assert "team:T01|FY2024" in ids
        assert await database[RECORDS].count_documents({"_id": {"$ne": FORMAT_ID}}) == AGENT_SHARDS

    async def test_documents_written_before_packing_are_read_and_written_back_packed(
        self,
        store: MongoStateStore,
        mongo_client: AsyncMongoClient[dict[str, Any]],
        unique: str,
    ) -> None:
        database = mongo_client[database_name(unique)]
        bucket = "renewal|team:T01|2024-06"
        await database[COUNTERS].insert_one(
            {
                "_id": "team:T01|FY2024",
                "rev": 1,
                "entity": "team:T01",
                "fiscal_year": "FY2024",
                "buckets": {"2024-05": {"sales": 2}},
                "touched": {"2024-05": datetime(2024, 5, 2, tzinfo=UTC)},
            }
        )
        old_record = {"id": "R.1", "b": bucket, "facts": [{"k": "a", "t": "c", "ts": 5}]}
        await database[RECORDS].insert_one(
            {"_id": bucket, "rev": 1, "r": {record_key(f"{bucket}|R.1"): old_record}}
        )
        assert await store.records([bucket]) == {bucket: {"R.1": old_record["facts"]}}

        new_facts: list[Fact] = [{"k": "b", "t": "c", "ts": 6}]
        await store.commit(
            batch(
                move(None, 1),
                counters=[counter("team:T01|FY2024", {"2024-05/sales": 3})],
                records={bucket: {"R.2": new_facts}},
            ),
            nothing,
        )

        counters = await store.counter_documents(["team:T01|FY2024"])
        assert counters["team:T01|FY2024"]["buckets"] == {"2024-05": {"sales": 5}}
        assert await store.records([bucket]) == {
            bucket: {"R.1": old_record["facts"], "R.2": new_facts}
        }
        raw_counter = await database[COUNTERS].find_one({"_id": "team:T01|FY2024"})
        raw_record = await database[RECORDS].find_one({"_id": bucket})
        assert raw_counter is not None
        assert raw_record is not None
        assert set(raw_counter) == {"_id", "rev", "entity", "fiscal_year", "p"}
        assert set(raw_record) == {"_id", "rev", "p"}

    async def test_a_state_of_a_newer_format_is_refused(
        self, mongo_client: AsyncMongoClient[dict[str, Any]], unique: str
    ) -> None:
        name = database_name(unique)[:50] + "_new"
        try:
            await MongoStateStore(mongo_client, name).ensure_schema()
            marker = await mongo_client[name][RECORDS].find_one({"_id": FORMAT_ID})
            assert marker is not None
            assert marker["state"] == STATE_FORMAT
            await mongo_client[name][RECORDS].update_one(
                {"_id": FORMAT_ID}, {"$set": {"state": STATE_FORMAT + 1}}
            )
            with pytest.raises(StateStoreError, match=f"format {STATE_FORMAT + 1}, newer"):
                await MongoStateStore(mongo_client, name).ensure_schema()
        finally:
            await mongo_client.drop_database(name)

    async def test_a_state_of_the_old_layout_is_refused_with_what_to_do(
        self, mongo_client: AsyncMongoClient[dict[str, Any]], unique: str
    ) -> None:
        name = database_name(unique)[:50] + "_old"
        await mongo_client[name][COUNTERS].insert_one(
            {"_id": "agent:A0001|FY2024", "entity": "agent:A0001", "buckets": {}}
        )
        try:
            with pytest.raises(StateStoreError, match="drop the scoring_\\* collections"):
                await MongoStateStore(mongo_client, name).ensure_schema()
        finally:
            await mongo_client.drop_database(name)

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


async def test_marking_scores_beside_an_open_batch_transaction_does_not_hang(
    mongo_client: AsyncMongoClient[dict[str, Any]], unique: str
) -> None:
    """Regression (found by tests/resilience/test_crashes.py): the score publication marks the
    positions it covers while a batch transaction beside it has written the same position
    documents and not yet committed. It must fail fast with a transient error (retried by
    the publication) or succeed, never wait for the transaction that cannot end meanwhile."""
    name = database_name(unique)
    store = MongoStateStore(mongo_client, name)
    await store.ensure_schema()
    try:
        await store.commit(batch(move(None, 10)), nothing)
        outcome: list[str] = []

        async def mark_beside() -> None:
            try:
                await asyncio.wait_for(
                    store.mark_scored(GROUP, [(TOPIC, 0)], datetime(2026, 11, 2, tzinfo=UTC)), 20
                )
                outcome.append("marked")
            except StateStoreUnavailable:
                outcome.append("transient")

        await store.commit(batch(move(10, 20)), mark_beside)
        assert outcome in (["marked"], ["transient"])
    finally:
        await mongo_client.drop_database(name)


def _same_shard_agents(count: int) -> list[str]:
    """Agents whose counters share one document (and whose records of a kind and month too)."""
    by_shard: dict[str, list[str]] = {}
    for number in range(10_000):
        agent = f"agent:A{number:04d}"
        shard = counter_location(f"{agent}|FY2024")[0]
        by_shard.setdefault(shard, []).append(agent)
        if len(by_shard[shard]) == count:
            return by_shard[shard]
    raise AssertionError("no shard holds enough agents")


async def _commit_until_done(store: MongoStateStore, write: BatchWrite) -> int:
    """Commit as the service does, retrying transient failures; returns the retries."""
    for retries in range(50):
        try:
            await store.commit(write, nothing)
        except StateStoreUnavailable:
            continue
        return retries
    raise AssertionError("never committed")


async def test_two_instances_writing_one_shard_document_lose_no_increment(
    mongo_client: AsyncMongoClient[dict[str, Any]], unique: str
) -> None:
    """Two scoring instances (partitions 0 and 1 of one group), each keeping the documents it
    writes in memory, add to the same agent-shard counter document, the same team document and
    the same record document, taking turns and then at once. A write over a document the other
    wrote since is refused (`StaleCache`, transient) and retried from fresh reads, so every
    increment and every record is there at the end, exactly."""
    name = database_name(unique)
    first = MongoStateStore(mongo_client, name, cache_bytes=1 << 20)
    second = MongoStateStore(mongo_client, name, cache_bytes=1 << 20)
    await first.ensure_schema()
    agents = _same_shard_agents(2)
    offsets = {first: 0, second: 0}
    partition = {first: 0, second: 1}
    agent = {first: agents[0], second: agents[1]}
    expected: dict[str, int] = dict.fromkeys(agents, 0) | {"team:T01": 0}
    records: dict[str, dict[str, list[Fact]]] = {}

    def write(store: MongoStateStore, n: int, step: int) -> BatchWrite:
        bucket = f"policy|{agent[store]}|2024-05"
        facts = records.setdefault(bucket, {})
        facts[f"P{step}"] = [{"n": step}]
        expected[agent[store]] += n
        expected["team:T01"] += n
        before = offsets[store] or None
        offsets[store] += 1
        return batch(
            move(before, offsets[store], partition=partition[store]),
            counters=[
                counter(f"{agent[store]}|FY2024", {"2024-05/sales": n}),
                counter("team:T01|FY2024", {"2024-05/sales": n}),
            ],
            records={bucket: {f"P{step}": facts[f"P{step}"]}},
        )

    try:
        # Taking turns: a commit whose cached documents the other wrote since is refused.
        stale = []
        for step, store in enumerate([first, second, first, second, first, first, second]):
            change = write(store, step + 1, step)
            try:
                await store.records(list(change.records))  # as the service reads them first
                await store.commit(change, nothing)
            except StaleCache:
                stale.append(step)
                assert len(store.cache) == 0  # dropped with the failed commit
                await store.records(list(change.records))  # the batch again, from fresh reads
                await store.commit(change, nothing)
        assert stale == [2, 3, 4, 6]  # every change of hands after both had written
        # At once: both commit in the same moments, retrying whatever conflicts.
        for step in range(100, 110):
            await asyncio.gather(
                _commit_until_done(first, write(first, step, step)),
                _commit_until_done(second, write(second, step, step + 1_000)),
            )
        counters = await first.counter_documents(
            [f"{a}|FY2024" for a in agents] + ["team:T01|FY2024"]
        )
        found = {doc["entity"]: doc["buckets"]["2024-05"]["sales"] for doc in counters.values()}
        assert found == expected
        assert await MongoStateStore(mongo_client, name).records(list(records)) == records
    finally:
        await mongo_client.drop_database(name)
