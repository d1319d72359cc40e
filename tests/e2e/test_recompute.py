"""`kpi recompute` with real processes (docs/recompute.md, section 3).

Demo history is scored by the live services into the first generation. `kpi recompute` then
builds a second one and is killed with SIGKILL half-way: the live generation is untouched and
the control document still names it; run again, it resumes from the new generation's stored
positions, catches up and switches. With the same definitions, the new generation's counters
are exactly the live one's, which equal the reference recomputation. Live scoring follows the
switch: events published after it land in the new generation only. `--rollback` switches back
(the read model answers as before the switch), and `--drop-previous` drops the collections.
"""

import asyncio
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pymongo import AsyncMongoClient

from services.demo.generator import generate_events, write_jsonl
from services.scoring.generations import FIRST, collections_of
from services.scoring.read_model import mongo_score_queries
from shared.config.loading import load_calendar, load_org
from shared.kpi.config import load_kpi_config
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.localstack import LocalStack
from shared.settings import Settings
from tests.support.pipeline_runs import (
    assert_same,
    kpi,
    reference,
    serve,
    stop,
    wait_idle,
)
from tests.support.reference_scoring import Counters, stored_counters
from tests.support.stack_fixtures import service_env

pytestmark = pytest.mark.e2e
CALENDAR = FiscalCalendar(load_calendar("config/calendar.yaml"))
CONFIG = load_kpi_config(Path("config"))
TOKYO = ZoneInfo("Asia/Tokyo")


def _demo(path: Path, start: datetime, days: int, count: int, seed: int) -> None:
    org = load_org(Path("config/org.yaml"))
    stream = generate_events(org, start=start, end=start + timedelta(days=days), seed=seed)
    write_jsonl([d for _, d in zip(range(count), stream, strict=False)], path)


async def _counters(settings: Settings, generation: str) -> Counters:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_uri.get_secret_value()
    )
    try:
        db = client[settings.mongodb_database]
        documents = await db[collections_of(generation).counters].find().to_list()
    finally:
        await client.close()
    return stored_counters(documents)


async def _control(settings: Settings) -> dict[str, Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_uri.get_secret_value()
    )
    try:
        found = await client[settings.mongodb_database]["scoring_generations"].find_one()
        names = await client[settings.mongodb_database].list_collection_names()
    finally:
        await client.close()
    return {**(found or {}), "collections": set(names)}


async def _positions_committed(settings: Settings, generation: str) -> int:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_uri.get_secret_value()
    )
    try:
        db = client[settings.mongodb_database]
        documents = await db[collections_of(generation).positions].find().to_list()
        return sum(int(doc["next_offset"]) for doc in documents)
    finally:
        await client.close()


async def _answers(settings: Settings, entities: list[str], period: str) -> dict[str, Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_uri.get_secret_value(), tz_aware=True
    )
    try:
        queries = mongo_score_queries(client, settings.mongodb_database, CONFIG)
        found = await queries.period_scores(entities, period)
    finally:
        await client.close()
    return {
        entity: sorted((s.kpi, s.value, s.numerator, s.denominator, s.revision) for s in scores)
        for entity, scores in found.items()
    }


async def test_a_killed_recompute_resumes_switches_and_rolls_back(
    private_stack: LocalStack, tmp_path: Path
) -> None:
    settings = private_stack.settings
    env = service_env(settings)
    logs = tmp_path / "services.log"
    history, later = tmp_path / "history.jsonl", tmp_path / "later.jsonl"
    start = datetime(2024, 4, 1, tzinfo=TOKYO)
    _demo(history, start, 60, 12_000, seed=11)
    _demo(later, start + timedelta(days=60), 5, 1_000, seed=12)
    children = [serve("ingest", env, logs), serve("scoring", env, logs)]
    try:
        sent = await asyncio.to_thread(kpi, env, "replay", str(history))
        assert sent.returncode == 0, sent.stdout + sent.stderr
        await wait_idle(env)
        live = await _counters(settings, FIRST)
        assert_same(live, await reference(settings, CALENDAR))
        entities = ["company:ACME", "region:R1", "branch:B01"]
        before = await _answers(settings, entities, "2024-05")
        assert before["company:ACME"], "the live generation answers"

        # Small batches, so that the kill lands between two of the new generation's commits.
        slow = {**env, "KPI_SCORING_MAX_BATCH": "300"}
        first = subprocess.Popen(  # noqa: ASYNC220 - killed while it runs
            [sys.executable, "-m", "services.cli.main", "recompute", "--label", "again"],
            env=slow,
            stdout=(tmp_path / "recompute-1.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        control: dict[str, Any] = {}
        for _ in range(600):
            control = await _control(settings)
            building = control.get("building")
            if building and await _positions_committed(settings, building) >= 3_000:
                break
            await asyncio.sleep(0.1)
        first.send_signal(signal.SIGKILL)
        first.wait()
        building = control["building"]
        assert building is not None
        assert building != FIRST
        control = await _control(settings)
        assert (control["active"], control["building"]) == (FIRST, building)
        half = await _positions_committed(settings, building)
        assert 0 < half < 12_000, "killed half-way"
        assert await _counters(settings, FIRST) == live, "the live generation is untouched"

        second = await asyncio.to_thread(kpi, env, "recompute")
        assert second.returncode == 0, second.stdout + second.stderr
        assert f"resuming generation {building}" in second.stdout
        assert "left" in second.stdout
        assert "events/s" in second.stdout
        control = await _control(settings)
        assert (control["active"], control["previous"], control["building"]) == (
            building,
            FIRST,
            None,
        )
        assert control["known"][building]["label"] == "again"
        # The same definitions: the same state, counter for counter.
        assert await _counters(settings, building) == live
        assert await _answers(settings, entities, "2024-05") == before

        # Live scoring follows the switch: what comes now lands in the new generation.
        sent = await asyncio.to_thread(kpi, env, "replay", str(later))
        assert sent.returncode == 0, sent.stdout + sent.stderr
        await wait_idle(env)
        assert_same(await _counters(settings, building), await reference(settings, CALENDAR))
        assert await _counters(settings, FIRST) == live, "nothing written to the previous one"

        back = await asyncio.to_thread(kpi, env, "recompute", "--rollback")
        assert back.returncode == 0, back.stdout + back.stderr
        control = await _control(settings)
        assert (control["active"], control["previous"]) == (FIRST, building)
        assert await _answers(settings, entities, "2024-05") == before

        dropped = await asyncio.to_thread(kpi, env, "recompute", "--drop-previous")
        assert dropped.returncode == 0, dropped.stdout + dropped.stderr
        control = await _control(settings)
        assert (control["active"], control["previous"]) == (FIRST, None)
        assert not set(collections_of(building).all()) & control["collections"]
    finally:
        stop(children)
