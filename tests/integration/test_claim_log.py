"""Ingest's claim log on the real local database: the promises of the fake
(`tests/support/claim_store_contract.py`), and what only the log has to keep — several
instances appending to one log, a restart, expiry, hash collisions and the per-key layout it
replaced."""

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from services.ingest import claims as claims_module
from services.ingest.claims import COLLECTION, LEGACY_COLLECTION, Claim, MongoClaimStore
from tests.support.claim_store_contract import NOW, ClaimStoreContract

pytestmark = pytest.mark.integration
HORIZON = timedelta(days=35)


@pytest.fixture
def database(unique: str) -> str:
    return f"cl_{unique}"[:63]


@pytest_asyncio.fixture(loop_scope="session")
async def log(
    mongo_client: AsyncMongoClient[dict[str, Any]], database: str
) -> AsyncIterator[AsyncCollection[dict[str, Any]]]:
    yield mongo_client[database][COLLECTION]
    await mongo_client.drop_database(database)


def instance(mongo_client: AsyncMongoClient[dict[str, Any]], database: str) -> MongoClaimStore:
    """One ingest instance's store (its own memory) on the shared log."""
    return MongoClaimStore.on(mongo_client, database, HORIZON)


class TestMongoClaimStore(ClaimStoreContract):
    @pytest_asyncio.fixture(loop_scope="session")
    async def store(
        self,
        mongo_client: AsyncMongoClient[dict[str, Any]],
        database: str,
        log: AsyncCollection[dict[str, Any]],
    ) -> MongoClaimStore:
        store = instance(mongo_client, database)
        await store.prepare(NOW)
        return store


async def test_one_document_per_call_not_per_key(
    mongo_client: AsyncMongoClient[dict[str, Any]],
    database: str,
    log: AsyncCollection[dict[str, Any]],
) -> None:
    store = instance(mongo_client, database)

    await store.claim([Claim(f"src:{n}", f"t:0:{n}") for n in range(500)], NOW)
    await store.claim([Claim(f"src:{n}", f"t:0:{n}") for n in range(500, 1_000)], NOW)

    assert await log.count_documents({}) == 2
    assert store.keys_held == 1_000


async def test_an_instance_sees_what_another_claimed(
    mongo_client: AsyncMongoClient[dict[str, Any]],
    database: str,
    log: AsyncCollection[dict[str, Any]],
) -> None:
    first, second = instance(mongo_client, database), instance(mongo_client, database)
    await second.prepare(NOW)

    assert await first.claim([Claim("src:1", "t:0:1")], NOW) == set()
    assert await second.claim([Claim("src:1", "t:1:1"), Claim("src:2", "t:1:2")], NOW) == {"t:1:1"}
    assert await first.claim([Claim("src:2", "t:0:2")], NOW) == {"t:0:2"}


class _LateReader(MongoClaimStore):
    """An instance that judges before reading the chunk another instance just appended: the
    insert of the same chunk number must refuse it, and the chunk be judged again."""

    skip_reads = 1

    async def _refresh(self, now: Any) -> None:
        if self.skip_reads:
            self.skip_reads -= 1
            return
        await super()._refresh(now)


async def test_two_instances_racing_for_a_key_one_wins(
    mongo_client: AsyncMongoClient[dict[str, Any]],
    database: str,
    log: AsyncCollection[dict[str, Any]],
) -> None:
    winner = instance(mongo_client, database)
    late = _LateReader(log, HORIZON)

    assert await winner.claim([Claim("src:1", "t:0:1")], NOW) == set()
    assert await late.claim([Claim("src:1", "t:1:1"), Claim("src:2", "t:1:2")], NOW) == {"t:1:1"}

    assert await log.count_documents({}) == 2
    assert await winner.claim([Claim("src:2", "t:0:2")], NOW) == {"t:0:2"}


async def test_after_a_restart_a_redelivered_record_is_its_own_claimant(
    mongo_client: AsyncMongoClient[dict[str, Any]],
    database: str,
    log: AsyncCollection[dict[str, Any]],
) -> None:
    await instance(mongo_client, database).claim([Claim("src:1", "t:0:1")], NOW)

    restarted = instance(mongo_client, database)
    await restarted.prepare(NOW)

    assert restarted.keys_held == 1
    assert await restarted.claim([Claim("src:1", "t:0:1"), Claim("src:1", "t:2:4")], NOW) == {
        "t:2:4"
    }


async def test_claims_expire_after_the_horizon_and_the_newest_chunk_stays(
    mongo_client: AsyncMongoClient[dict[str, Any]],
    database: str,
    log: AsyncCollection[dict[str, Any]],
) -> None:
    store = instance(mongo_client, database)
    await store.claim([Claim("src:1", "t:0:1")], NOW)
    await store.claim([Claim("src:2", "t:0:2")], NOW + timedelta(days=1))
    later = NOW + HORIZON + timedelta(hours=1)

    assert await store.claim([Claim("src:1", "t:0:9")], later) == set()

    # Chunk 1 expired: gone from memory and from the database.
    assert sorted(await log.distinct("_id")) == [2, 3]
    assert store.keys_held == 2
    assert await store.claim([Claim("src:1", "t:0:10")], later) == {"t:0:10"}
    # Long after, every chunk has expired; the newest stays so the numbering goes on.
    much_later = later + HORIZON * 2
    assert await store.claim([Claim("src:2", "t:0:11")], much_later) == set()
    assert sorted(await log.distinct("_id")) == [3, 4]
    assert store.keys_held == 1


class _Recording:
    """The log's collection, recording the filter of every read."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._collection = collection
        self.filters: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)

    def find(self, query: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        self.filters.append(query)
        return self._collection.find(query, *args, **kwargs)


async def test_a_live_instance_reads_what_others_appended_by_number_window_after_window(
    mongo_client: AsyncMongoClient[dict[str, Any]],
    database: str,
    log: AsyncCollection[dict[str, Any]],
) -> None:
    """A range read of the log scanned every chunk on the local database; by number, the
    `_id` index serves it. More chunks than a window are still all read."""
    recording = _Recording(log)
    reader = MongoClaimStore(recording, HORIZON)  # type: ignore[arg-type]
    assert await reader.claim([Claim("src:first", "t:0:0")], NOW) == set()
    other = instance(mongo_client, database)
    appended = claims_module.REFRESH_WINDOW * 2 + 3
    for n in range(appended):
        await other.claim([Claim(f"src:{n}", f"t:1:{n}")], NOW)
    recording.filters.clear()

    last = f"src:{appended - 1}"
    assert await reader.claim([Claim(last, "t:0:1"), Claim("src:new", "t:0:2")], NOW) == {"t:0:1"}

    assert reader.keys_held == appended + 2
    assert all("$in" in f["_id"] for f in recording.filters)
    # Two full windows, one with the rest, then the chunk holding the duplicate's key.
    assert len(recording.filters) == 4


async def test_an_instance_whose_last_chunk_expired_reads_the_log_by_range(
    mongo_client: AsyncMongoClient[dict[str, Any]],
    database: str,
    log: AsyncCollection[dict[str, Any]],
) -> None:
    """Chunks after the head may have been deleted when the head has expired: more than a
    window of them here, and the live chunk after them is found all the same."""
    idle = instance(mongo_client, database)
    await idle.claim([Claim("src:idle", "t:0:0")], NOW)
    busy = instance(mongo_client, database)
    for n in range(claims_module.REFRESH_WINDOW + 4):
        await busy.claim([Claim(f"src:{n}", f"t:1:{n}")], NOW)
    later = NOW + HORIZON + timedelta(days=1)
    await busy.claim([Claim("src:live", "t:1:live")], later)  # expires the others, deletes them
    assert len(await log.distinct("_id")) == 2

    assert await idle.claim([Claim("src:live", "t:0:9")], later) == {"t:0:9"}


@pytest.fixture
def colliding() -> Iterator[None]:
    """Every key hashes alike: only the stored keys tell them apart."""
    real = claims_module.key_hash
    claims_module.key_hash = lambda key: 42
    try:
        yield
    finally:
        claims_module.key_hash = real


@pytest.mark.usefixtures("colliding")
async def test_a_hash_collision_costs_a_read_never_an_event(
    mongo_client: AsyncMongoClient[dict[str, Any]],
    database: str,
    log: AsyncCollection[dict[str, Any]],
) -> None:
    store = instance(mongo_client, database)

    assert await store.claim([Claim("src:1", "t:0:1")], NOW) == set()
    assert await store.claim([Claim("src:2", "t:0:2"), Claim("src:3", "t:0:3")], NOW) == set()
    assert await store.claim([Claim("src:3", "t:0:7"), Claim("src:1", "t:0:1")], NOW) == {"t:0:7"}


async def test_claims_of_the_per_key_layout_are_moved_into_the_log(
    mongo_client: AsyncMongoClient[dict[str, Any]],
    database: str,
    log: AsyncCollection[dict[str, Any]],
) -> None:
    legacy = mongo_client[database][LEGACY_COLLECTION]
    await legacy.insert_many(
        [
            {"_id": "src:1", "claimant": "t:0:1", "claimed_at": NOW, "expires_at": NOW + HORIZON},
            {"_id": "src:2", "claimant": "t:0:2", "claimed_at": NOW, "expires_at": NOW},
        ]
    )
    store = instance(mongo_client, database)

    await store.prepare(NOW + timedelta(seconds=1))

    assert LEGACY_COLLECTION not in await mongo_client[database].list_collection_names()
    assert await store.claim([Claim("src:1", "t:0:1"), Claim("src:1", "t:5:5")], NOW) == {"t:5:5"}
    # src:2 had expired: it is not carried over.
    assert await store.claim([Claim("src:2", "t:5:6")], NOW) == set()
