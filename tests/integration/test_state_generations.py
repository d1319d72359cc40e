"""State generations on the real database: the control document changes by compare-and-set,
readers follow the active generation, and the live service's fence refuses a commit to a
generation that is no longer active, writing nothing."""

import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient

from services.scoring.definition_snapshots import FILES, MongoSnapshots, files_of, write_beside
from services.scoring.generation_store import (
    ActiveStateStore,
    GenerationFence,
    GenerationSwitched,
    MongoGenerations,
)
from services.scoring.generations import (
    FIRST,
    GenerationError,
    Generations,
    RevisionProgress,
    rollback,
    start_build,
    switch,
)
from services.scoring.read_model import mongo_score_queries
from shared.kpi.config import load_kpi_config
from tests.support.state_store_contract import GROUP, TOPIC, batch, counter, move, nothing

pytestmark = pytest.mark.integration
NOW = datetime(2025, 4, 1, 9, 15, tzinfo=UTC)
HASH = "0123456789abcdef"


@pytest_asyncio.fixture(loop_scope="session")
async def generations(
    mongo_client: AsyncMongoClient[dict[str, Any]], unique: str
) -> AsyncIterator[MongoGenerations]:
    name = "gen_" + unique.removeprefix("test_")[:50]
    yield MongoGenerations(mongo_client, name)
    await mongo_client.drop_database(name)


async def _begin(generations: MongoGenerations) -> tuple[Generations, str]:
    before = await generations.read()
    building, generation, _ = start_build(before, now=NOW, definitions_hash=HASH, label=None)
    await generations.replace(before, building)
    return building, generation


async def test_changes_are_compare_and_set(generations: MongoGenerations) -> None:
    assert await generations.read() == Generations()
    building, generation = await _begin(generations)
    assert await generations.read() == building
    with pytest.raises(GenerationError, match="changed meanwhile"):
        await generations.replace(Generations(), building)  # a second operator, too late
    switched = switch(building, now=NOW)
    await generations.replace(building, switched)
    assert (await generations.read()).active == generation
    with pytest.raises(GenerationError, match="changed meanwhile"):
        await generations.replace(building, switched)


async def test_readers_follow_and_the_fence_refuses_the_old_generation(
    generations: MongoGenerations,
) -> None:
    await generations.note_definitions(FIRST, HASH)
    assert (await generations.read()).info(FIRST).definitions_hash == HASH
    live = GenerationFence(generations, FIRST)
    await live.ensure_schema()
    first = batch(move(None, 10), counters=[counter("branch:B01|FY2024", {"2024-05/x": 1})])
    await live.commit(first, nothing)
    building, generation = await _begin(generations)
    new = generations.store(generation)
    await new.ensure_schema()
    await new.commit(batch(move(None, 7)), nothing)
    readers = ActiveStateStore(generations)
    assert (await readers.positions(GROUP, [(TOPIC, 0)]))[(TOPIC, 0)].next_offset == 10

    await generations.replace(building, switch(building, now=NOW))
    assert (await readers.positions(GROUP, [(TOPIC, 0)]))[(TOPIC, 0)].next_offset == 7
    with pytest.raises(GenerationSwitched):
        await live.commit(
            batch(move(10, 20), counters=[counter("branch:B01|FY2024", {"2024-05/x": 5})]),
            nothing,
        )
    assert live.switched_to == generation
    old = generations.store(FIRST)
    assert (await old.positions(GROUP, [(TOPIC, 0)]))[(TOPIC, 0)].next_offset == 10
    documents = await old.counter_documents(["branch:B01|FY2024"])
    assert documents["branch:B01|FY2024"]["buckets"] == {"2024-05": {"x": 1}}, "nothing written"
    assert await generations.counter_keys(FIRST) == {("branch:B01", "2024-05")}

    await generations.drop(FIRST)
    assert await generations.counter_keys(FIRST) == set()


async def test_the_read_model_says_from_which_period_a_move_republishes(
    mongo_client: AsyncMongoClient[dict[str, Any]], unique: str
) -> None:
    name = "genfrom_" + unique.removeprefix("test_")[:40]
    generations = MongoGenerations(mongo_client, name)
    queries = mongo_score_queries(mongo_client, name, load_kpi_config(Path("config")))
    try:
        assert await queries.republished_from(FIRST) is None  # nothing recomputed yet
        before = await generations.read()
        building, generation, _ = start_build(
            before, now=NOW, definitions_hash=HASH, label=None, republish_from="FY2024-Q3"
        )
        await generations.replace(before, building)
        stored = await generations.read()
        assert stored.info(generation).republish_from == "FY2024-Q3"
        # Resumed (another process, the document read again): the period is kept.
        assert start_build(stored, now=NOW, definitions_hash=HASH, label=None)[0] == stored

        await generations.replace(building, switch(building, now=NOW))
        assert await queries.generation() == generation
        assert await queries.republished_from(FIRST) == "FY2024-Q3"
        switched = await generations.read()
        await generations.replace(switched, rollback(switched, now=NOW))
        assert await queries.generation() == FIRST
        assert await queries.republished_from(generation) == "FY2024-Q3"  # the rollback too
    finally:
        await mongo_client.drop_database(name)


async def test_the_revisions_progress_and_the_kept_definitions_survive_a_restart(
    generations: MongoGenerations,
    mongo_client: AsyncMongoClient[dict[str, Any]],
    tmp_path: Path,
) -> None:
    """What the next owner of partition 0 needs to go on with the score revisions after a
    crash: how far they went, and the previous version's files, kept by hash; a scorer built
    from them has that version again."""
    assert await generations.revisions() is None
    progress = RevisionProgress(to="g20250401T091500", previous=FIRST)
    await generations.note_revisions(progress)
    await generations.note_revisions(replace(progress, after=("branch:B01", "2024-06")))
    assert await generations.revisions() == replace(progress, after=("branch:B01", "2024-06"))
    await generations.replace(Generations(), Generations())  # the control document beside it
    assert (await generations.revisions()) == replace(progress, after=("branch:B01", "2024-06"))

    snapshots = MongoSnapshots(mongo_client, generations.database)
    config = Path("config")
    old = load_kpi_config(config).definitions
    await snapshots.keep(old.hash, files_of(config))
    await snapshots.keep(old.hash, dict.fromkeys(FILES))  # written once: kept
    kept = await snapshots.files(old.hash)
    assert kept == files_of(config)
    assert await snapshots.files("fedcba9876543210") is None

    # The files now are another version; the kept one is rebuilt beside them.
    now = tmp_path / "now"
    shutil.copytree(config, now)
    (now / "definitions.yaml").write_text("label: restated\n", encoding="utf-8")
    (now / "targets.yaml").unlink()
    assert load_kpi_config(now).definitions != old
    rebuilt = write_beside(now, kept, tmp_path / "kept")
    assert load_kpi_config(rebuilt).definitions == old
