"""The documents scoring keeps between batches (`state_cache.py`) and the revisions that make
them safe with several writers.

The last property is a model of `MongoStateStore.commit` with an in-memory database that has
MongoDB's rules for a transaction (a snapshot; a write over a document another transaction
committed since is a write conflict, first committer wins): writers that each keep their own
cache, interleaved however Hypothesis likes, never lose an increment. The same on the real
database is `tests/integration/test_scoring_store.py`."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import bson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.scoring.app import create_app
from services.scoring.mongo_documents import (
    REVISION,
    counter_location,
    counters_after,
    records_after,
    revision_of,
    unpacked_counter,
)
from services.scoring.mongo_store import MongoStateStore
from services.scoring.ports import CounterDocument
from services.scoring.state_cache import StateCache
from shared import mongo
from shared.errors import ConfigError
from shared.settings import load_settings
from tests.support.fakes import RecordingOutput
from tests.support.unit_triage import CONFIG

AT = datetime(2026, 11, 1, tzinfo=UTC)
COUNTERS = "scoring_counters"


def test_the_least_recently_used_documents_go_first_and_the_bound_holds() -> None:
    cache = StateCache(max_bytes=30)
    cache.put((COUNTERS, "a"), 1, b"a" * 10)
    cache.put((COUNTERS, "b"), 1, b"b" * 10)
    cache.put((COUNTERS, "c"), 1, b"c" * 10)
    assert cache.get((COUNTERS, "a")) is not None  # now the most recently used
    cache.put((COUNTERS, "d"), 1, b"d" * 10)

    assert (COUNTERS, "b") not in cache
    assert [key for key in [(COUNTERS, k) for k in "acd"] if key in cache] == [
        (COUNTERS, "a"),
        (COUNTERS, "c"),
        (COUNTERS, "d"),
    ]
    assert cache.held_bytes == 30
    cache.put((COUNTERS, "c"), 2, b"c" * 25)  # a document that grew pushes out the others
    assert len(cache) == 1
    assert cache.held_bytes == 25


def test_a_document_larger_than_the_bound_and_an_older_revision_are_not_held() -> None:
    cache = StateCache(max_bytes=20)
    cache.put((COUNTERS, "big"), 1, b"x" * 21)
    assert (COUNTERS, "big") not in cache
    assert cache.held_bytes == 0

    cache.put((COUNTERS, "a"), 3, b"three")
    cache.put((COUNTERS, "a"), 2, b"two")  # read before the write of revision 3 landed
    entry = cache.get((COUNTERS, "a"))
    assert entry is not None
    assert (entry.revision, entry.raw) == (3, b"three")

    cache.clear()
    assert len(cache) == 0
    assert cache.held_bytes == 0


def test_no_bound_holds_nothing_and_a_negative_one_is_refused() -> None:
    cache = StateCache(max_bytes=0)
    cache.put((COUNTERS, "a"), 1, b"a")
    assert len(cache) == 0
    with pytest.raises(ValueError, match="max_bytes"):
        StateCache(max_bytes=-1)


def test_every_write_raises_the_revision_and_documents_from_before_revisions_start_at_one() -> None:
    sales = [CounterDocument("team:T01|FY2024", "team:T01", "FY2024", {"2024-05/sales": 1})]
    old = {"_id": "team:T01|FY2024", "entity": "team:T01", "buckets": {"2024-05": {"sales": 2}}}
    assert revision_of(old) is None

    first = counters_after(sales, {"team:T01|FY2024": old}, AT)["team:T01|FY2024"]
    second = counters_after(sales, {"team:T01|FY2024": first}, AT)["team:T01|FY2024"]

    assert (first[REVISION], second[REVISION]) == (1, 2)
    assert unpacked_counter(second)["buckets"] == {"2024-05": {"sales": 4}}
    shard, _ = counter_location("agent:A0001|FY2024")
    agent = [CounterDocument("agent:A0001|FY2024", "agent:A0001", "FY2024", {"2024-05/sales": 1})]
    assert counters_after(agent, {}, AT)[shard][REVISION] == 1
    records = records_after({"policy|team:T01|2024-05": {"P1": [{"n": 1}]}}, {})
    assert [doc[REVISION] for doc in records.values()] == [1]


def test_the_scoring_service_exports_what_its_store_keeps() -> None:
    # Nothing listens on port 1: building the app must not connect anywhere.
    settings = load_settings(
        KPI_CONFIG_DIR=CONFIG,
        KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1",
        MONGODB_URI="mongodb://127.0.0.1:1/?retryWrites=false",
        KPI_SCORING_CACHE_MB=1,
    )
    store = MongoStateStore(mongo.create_client(settings, app_name="test"), "x", cache_bytes=64)
    app = create_app(settings, store=store, output=RecordingOutput())

    store.cache.put((COUNTERS, "team:T01|FY2024"), 1, b"x" * 40)

    assert app.registry.get_sample_value("kpi_scoring_state_cache_bytes") == 40
    with pytest.raises(ConfigError, match="KPI_SCORING_CACHE_MB"):
        load_settings(KPI_SCORING_CACHE_MB=-1)


# --- A model of the commit, with several writers and a database with MongoDB's rules. ---

ENTITIES = ["agent:A0001", "agent:A0002", "team:T01"]  # A0001 and A0002 share a shard or not


@dataclass
class Database:
    """Committed documents by `_id`, each with the commit that last wrote it."""

    docs: dict[str, bytes] = field(default_factory=dict)
    written_at: dict[str, int] = field(default_factory=dict)
    commits: int = 0


@dataclass
class Writer:
    """One scoring instance: its cache and the batches it has still to commit."""

    cache: StateCache
    batches: list[list[tuple[str, int]]]
    conflicts: int = 0


class Conflict(Exception):
    pass


def _commit(db: Database, writer: Writer, batch: list[tuple[str, int]], snapshot: int) -> None:
    """`MongoStateStore.commit` of one batch in a transaction that started at commit number
    `snapshot`: cached documents where held, the others read; replaced only where the stored
    revision is the cached one; a write conflict with a later commit aborts."""
    counters = [
        CounterDocument(f"{entity}|FY2024", entity, "FY2024", {"2024-05/sales": n})
        for entity, n in batch
    ]
    ids = {counter_location(c.doc_id)[0] for c in counters}
    current: dict[str, dict[str, Any]] = {}
    cached = set()
    for doc_id in ids:
        entry = writer.cache.get((COUNTERS, doc_id))
        if entry is not None:
            current[doc_id] = bson.decode(entry.raw)
            cached.add(doc_id)
        elif doc_id in db.docs:
            if db.written_at[doc_id] > snapshot:
                raise Conflict  # read in the transaction: a later commit is a write conflict
            current[doc_id] = bson.decode(db.docs[doc_id])
    after = counters_after(counters, current, AT)
    for doc_id, doc in after.items():
        stored = db.docs.get(doc_id)
        if doc_id in cached and (
            stored is None or revision_of(bson.decode(stored)) != doc[REVISION] - 1
        ):
            raise Conflict  # the replacement matched nothing: StaleCache
        if db.written_at.get(doc_id, 0) > snapshot:
            raise Conflict  # WriteConflict
    db.commits += 1
    for doc_id, doc in after.items():
        raw = bson.encode(doc)
        db.docs[doc_id] = raw
        db.written_at[doc_id] = db.commits
        writer.cache.put((COUNTERS, doc_id), doc[REVISION], raw)


batches = st.lists(
    st.lists(st.tuples(st.sampled_from(ENTITIES), st.integers(1, 9)), min_size=1, max_size=4),
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(
    work=st.lists(batches, min_size=2, max_size=3),
    schedule=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3)), max_size=60),
    cache_bytes=st.sampled_from([0, 300, 1 << 20]),
)
def test_interleaved_writers_with_their_own_caches_never_lose_an_increment(
    work: list[list[list[tuple[str, int]]]],
    schedule: list[tuple[int, int]],
    cache_bytes: int,
) -> None:
    db = Database()
    writers = [Writer(StateCache(cache_bytes), list(batches)) for batches in work]
    # Each step: a writer commits its next batch in a transaction whose snapshot is `lag`
    # commits old (others committed meanwhile); a conflict drops its cache, as the store does,
    # and the batch is tried again later.
    steps = [*schedule, *((w, 0) for w in range(len(writers)) for _ in range(20))]
    for number, lag in steps:
        writer = writers[number % len(writers)]
        if not writer.batches:
            continue
        try:
            _commit(db, writer, writer.batches[0], max(0, db.commits - lag))
        except Conflict:
            writer.conflicts += 1
            writer.cache.clear()
            continue
        writer.batches.pop(0)

    assert all(not writer.batches for writer in writers)
    expected: Counter[str] = Counter()
    for batches_of_writer in work:
        for batch in batches_of_writer:
            for entity, n in batch:
                expected[entity] += n
    found: Counter[str] = Counter()
    for raw in db.docs.values():
        doc = unpacked_counter(bson.decode(raw))
        for entry in doc["members"].values() if "members" in doc else [doc]:
            found[entry["entity"]] += entry["buckets"]["2024-05"]["sales"]
    assert found == expected
