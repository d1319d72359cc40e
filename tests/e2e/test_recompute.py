"""`kpi recompute` with real processes (docs/recompute.md, section 3).

A year of demo history (FY2024, April 2024 to March 2025, an eighth of the demo company's
agents, ~19,000 events) is scored by ingest, scoring and reporting into the first state
generation. Then the definitions change: the survey top box moves from 9 to 8 on 0–10
answers, and a new KPI counts a new box (7 and up). `kpi recompute` builds a second generation
and is killed with SIGKILL half-way: the live generation is untouched. Run again while live
events keep arriving, it resumes from its stored positions and switches; the read model
answers throughout. After the switch every counter equals the reference recomputation under
the new definitions, over every event (live ones included: scoring follows the switch);
exactly the scorecards whose figures changed are republished as revisions with
`definition_change` and both versions, and the changed scores too. `--rollback` is refused
until the files are put back, then restores the previous answers exactly; `--drop-previous`
drops the new generation's collections. Last, the same new definitions are recomputed
`--from FY2024-Q3`: of the scorecards the first switch changed, exactly those of periods ending
in October 2024 or later are republished (the earlier ones, all final, stay as published), and
no score of an earlier period.
"""

import asyncio
import json
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml
from aiokafka import TopicPartition
from pymongo import AsyncMongoClient

from services.demo.generator import generate_events, write_jsonl
from services.scoring.generations import FIRST, collections_of
from services.scoring.read_model import mongo_score_queries
from shared import topics
from shared.config.loading import load_calendar, load_org
from shared.idle import end_offsets
from shared.kpi.config import KpiConfig, load_kpi_config
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.localstack import LocalStack
from shared.settings import Settings
from tests.support.config_copies import TOP2_SHARE_KPI, config_with_agent_share
from tests.support.pipeline_runs import (
    assert_same,
    kpi,
    reference,
    scorecards,
    serve,
    stop,
    wait_idle,
)
from tests.support.reference_scoring import Counters, stored_counters
from tests.support.stack_fixtures import service_env
from tests.support.topics_io import read_until

pytestmark = pytest.mark.e2e
CALENDAR = FiscalCalendar(load_calendar("config/calendar.yaml"))
TOKYO = ZoneInfo("Asia/Tokyo")
START = datetime(2024, 4, 1, tzinfo=TOKYO)
HISTORY_DAYS = 366  # FY2024 and a day: March 2025 closes
EVENTS_PER_DAY = 45  # and the assessments and training of ~130 agents: ~19,000 in the year
LIVE_PER_DAY = 400  # four days of it: ~600 live events of the kinds below
AGENT_SHARE = 8  # every eighth agent of each team, every team and branch kept
ENTITIES = ["company:ACME", "region:R2", "branch:B08", "branch:B01"]
NEW_BOXES = {"survey_top_box": {10: 8, 5: 5, 100: 80}, "survey_top2_box": {10: 7, 5: 4, 100: 70}}
NEW_SHARES = (("survey_top_box", "survey_top_box"), ("survey_top2_share", "survey_top2_box"))
NEW_KPI = TOP2_SHARE_KPI


def _config(tmp_path: Path) -> Path:
    return config_with_agent_share(tmp_path, AGENT_SHARE)


def _new_definitions(config: Path) -> None:
    """The top box from 8, and a new box and KPI; the label says so."""
    kpis = yaml.safe_load((config / "kpis.yaml").read_text(encoding="utf-8"))
    kpis["survey_boxes"] = [{"id": box, "at_least": least} for box, least in NEW_BOXES.items()]
    kpis["kpis"].append(NEW_KPI)
    (config / "kpis.yaml").write_text(
        yaml.safe_dump(kpis, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    (config / "definitions.yaml").write_text("label: top box from 8\n", encoding="utf-8")


def _in_their_own_month(document: dict[str, Any]) -> bool:
    """Live events whose counters land in the month they occur in (or later): no renewal (by
    due month), no assessment (for a period), no termination or reinstatement (persistency
    by anniversary, which may be a past month). So they cannot change a closed scorecard, and
    every revision after the switch is the new definitions' alone."""
    kind = document["event_type"]
    return kind in {"survey", "complaint", "training"} or (
        kind == "policy" and document["action"] in {"issued", "renewed"}
    )


def _demo(
    path: Path,
    org: Path,
    start: datetime,
    days: int,
    seed: int,
    *,
    live: bool = False,
    per_day: int = EVENTS_PER_DAY,
) -> int:
    stream = generate_events(
        load_org(org),
        start=start,
        end=start + timedelta(days=days),
        seed=seed,
        events_per_day=per_day,
    )
    documents = [d for d in stream if not live or _in_their_own_month(d)]
    write_jsonl(documents, path)
    return len(documents)


async def _client(settings: Settings) -> AsyncMongoClient[dict[str, Any]]:
    return AsyncMongoClient(settings.mongodb_uri.get_secret_value(), tz_aware=True)


async def _counters(settings: Settings, generation: str) -> Counters:
    client = await _client(settings)
    try:
        db = client[settings.mongodb_database]
        documents = await db[collections_of(generation).counters].find().to_list()
    finally:
        await client.close()
    return stored_counters(documents)


def _after(record: Any, ends: dict[TopicPartition, int]) -> bool:
    """Whether a record was appended after `ends` were read."""
    return bool(record.offset >= ends.get(TopicPartition(record.topic, record.partition), 0))


async def _revisions_are(settings: Settings, expected: dict[str, Any]) -> bool:
    client = await _client(settings)
    try:
        found = await client[settings.mongodb_database]["scoring_generations"].find_one(
            {"_id": "revisions"}
        )
    finally:
        await client.close()
    return found is not None and all(found.get(k) == v for k, v in expected.items())


async def _set_revisions(settings: Settings, progress: dict[str, Any]) -> None:
    client = await _client(settings)
    try:
        await client[settings.mongodb_database]["scoring_generations"].replace_one(
            {"_id": "revisions"}, progress
        )
    finally:
        await client.close()


async def _control(settings: Settings) -> dict[str, Any]:
    client = await _client(settings)
    try:
        db = client[settings.mongodb_database]
        found = await db["scoring_generations"].find_one({"_id": "scoring"})
        names = set(await db.list_collection_names())
        built = await db["reporting_state"].find_one({"_id": "generation"})
    finally:
        await client.close()
    return {**(found or {}), "collections": names, "reporting": (built or {}).get("generation")}


async def _committed(settings: Settings, generation: str) -> int:
    client = await _client(settings)
    try:
        db = client[settings.mongodb_database]
        documents = await db[collections_of(generation).positions].find().to_list()
    finally:
        await client.close()
    return sum(int(doc["next_offset"]) for doc in documents)


async def _answers(settings: Settings, config: KpiConfig, period: str) -> dict[str, Any]:
    """What the read model answers (the active generation) for the entities in a period."""
    client = await _client(settings)
    try:
        queries = mongo_score_queries(client, settings.mongodb_database, config)
        found = await queries.period_scores(ENTITIES, period)
    finally:
        await client.close()
    return {
        entity: sorted((s.kpi, s.value, s.numerator, s.denominator, s.target) for s in scores)
        for entity, scores in found.items()
    }


async def _newest_cards(settings: Settings) -> dict[tuple[str, str], dict[str, Any]]:
    newest: dict[tuple[str, str], dict[str, Any]] = {}
    for card in await scorecards(settings, {}):
        key = (card["entity"], card["period"])
        if key not in newest or card["revision"] > newest[key]["revision"]:
            newest[key] = card
    return newest


VOLATILE = {"scorecard_id", "revision", "status", "as_of", "rank", "peers", "definitions"}
VOLATILE |= {"revision_reason", "previous_definitions"}


def _figures(card: dict[str, Any]) -> dict[str, Any]:
    """What a revision is about (as reporting's `figures`)."""
    return {k: v for k, v in card.items() if k not in VOLATILE}


LIVE_CHUNKS = 5


def _chunks(events: Path, tmp_path: Path) -> list[Path]:
    lines = events.read_text(encoding="utf-8").splitlines(keepends=True)
    size = -(-len(lines) // LIVE_CHUNKS)
    chunks = []
    for number in range(LIVE_CHUNKS):
        chunk = tmp_path / f"live-{number}.jsonl"
        chunk.write_text("".join(lines[number * size : (number + 1) * size]), encoding="utf-8")
        chunks.append(chunk)
    return chunks


async def _trickle(env: dict[str, str], chunks: list[Path]) -> int:
    """Publish the chunks a second apart, as live traffic; the chunks sent."""
    sent = 0
    for chunk in chunks:
        done = await asyncio.to_thread(kpi, env, "replay", str(chunk))
        assert done.returncode == 0, done.stdout + done.stderr
        sent += 1
        await asyncio.sleep(1.0)
    return sent


async def _until(check: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.5)


async def test_recompute_under_new_definitions_while_live_events_arrive(
    private_stack: LocalStack, tmp_path: Path
) -> None:
    settings = private_stack.settings
    config_dir = _config(tmp_path)
    env = service_env(settings) | {
        "KPI_CONFIG_DIR": str(config_dir),
        "KPI_REPORTING_TICK_S": "1",
        "KPI_IDLE_TIMEOUT_S": "5",
    }
    logs = tmp_path / "services.log"
    history, later = tmp_path / "history.jsonl", tmp_path / "later.jsonl"
    events = _demo(history, config_dir / "org.yaml", START, HISTORY_DAYS, seed=11)
    _demo(
        later,
        config_dir / "org.yaml",
        START + timedelta(days=HISTORY_DAYS + 1),
        4,
        12,
        live=True,
        per_day=LIVE_PER_DAY,
    )
    old_kpis = (config_dir / "kpis.yaml").read_text(encoding="utf-8")
    old_label = (config_dir / "definitions.yaml").read_text(encoding="utf-8")
    old_config = load_kpi_config(config_dir)
    children = [serve(name, env, logs) for name in ("ingest", "scoring", "reporting")]
    try:
        sent = await asyncio.to_thread(kpi, env, "replay", str(history))
        assert sent.returncode == 0, sent.stdout + sent.stderr
        await wait_idle(env)
        live = await _counters(settings, FIRST)
        assert_same(live, await reference(settings, CALENDAR))

        async def march_closed() -> bool:
            # FY2024 closes with March, after it, its quarter and its half (in one tick).
            return bool(await scorecards(settings, {"entity": "branch:B08", "period": "FY2024"}))

        await _until(march_closed, 180, "reporting to close March 2025 and FY2024")
        before = await _answers(settings, old_config, "2024-06")
        cards_before = await _newest_cards(settings)

        _new_definitions(config_dir)
        new_config = load_kpi_config(config_dir)
        assert new_config.definitions.hash != old_config.definitions.hash

        # Killed half-way (small batches, so that it commits often).
        first = subprocess.Popen(  # noqa: ASYNC220 - killed while it runs
            [sys.executable, "-m", "services.cli.main", "recompute"],
            env={**env, "KPI_SCORING_MAX_BATCH": "500"},
            stdout=(tmp_path / "recompute-1.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        building = None

        async def half_way() -> bool:
            nonlocal building
            building = (await _control(settings)).get("building")
            return building is not None and await _committed(settings, building) >= events // 3

        await _until(half_way, 180, "the recompute to get half-way")
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert building is not None
        control = await _control(settings)
        assert (control["active"], control["building"]) == (FIRST, building)
        assert 0 < await _committed(settings, building) < events
        assert await _counters(settings, FIRST) == live, "the live generation is untouched"

        # Resumed while live events arrive; the read model answers all along.
        trickle = asyncio.create_task(_trickle(env, _chunks(later, tmp_path)))
        log = tmp_path / "recompute-2.log"
        second = subprocess.Popen(  # noqa: ASYNC220 - the read model is asked meanwhile
            [sys.executable, "-m", "services.cli.main", "recompute"],
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        served = 0
        while second.poll() is None:
            answers = await _answers(settings, old_config, "2024-06")
            assert all(answers[entity] for entity in ENTITIES), "live scores are served"
            served += 1
            await asyncio.sleep(0.5)
        output = log.read_text(encoding="utf-8")
        assert second.returncode == 0, output
        assert served > 0
        assert f"resuming generation {building}" in output
        assert "events/s" in output
        assert "left" in output
        assert await trickle == LIVE_CHUNKS
        await wait_idle(env)

        control = await _control(settings)
        assert (control["active"], control["previous"], control["building"]) == (
            building,
            FIRST,
            None,
        )
        status = await asyncio.to_thread(kpi, env, "recompute", "--status")
        assert status.returncode == 0, status.stdout + status.stderr
        assert f"active    {building}" in status.stdout
        assert f"previous  {FIRST}" in status.stdout
        assert f"{building}: definitions {new_config.definitions.hash} (top box from 8)" in (
            status.stdout
        )
        # Every counter under the new definitions, over every event, the live ones included.
        expected = await reference(settings, CALENDAR, boxes=NEW_BOXES)
        assert_same(await _counters(settings, building), expected)
        after = await _answers(settings, new_config, "2024-06")
        for entity in ENTITIES:
            scores = {kpi_id: rest for kpi_id, *rest in after[entity]}
            for kpi_id, box in NEW_SHARES:
                _, numerator, denominator, _ = scores[kpi_id]
                assert (numerator or 0, denominator or 0) == (
                    expected.get((entity, "2024-06", box), 0),
                    expected.get((entity, "2024-06", "survey_responses"), 0),
                )
        assert after != before

        # Exactly the scorecards whose figures changed are republished, as definition_change.
        async def reporting_followed() -> bool:
            built_from: str | None = (await _control(settings))["reporting"]
            return bool(built_from == building)

        await _until(reporting_followed, 180, "reporting to follow the switch")
        # Its API and console answer under the new definitions without a restart: the new KPI
        # is in the catalogue, and its figures are the new boxes' counters.
        base = f"http://127.0.0.1:{settings.http_port_for('reporting')}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            catalogue = (await http.get("/api/v1/kpis")).json()["kpis"]
            names = {k["kpi"]: k["names"] for k in catalogue}
            assert names[str(NEW_KPI["id"])] == NEW_KPI["labels"]
            answer = await http.get(f"/api/v1/scores/company:ACME/2024-06?kpi={NEW_KPI['id']}")
            assert answer.status_code == 200, answer.text
            [share] = answer.json()["scores"]
            figures = (Decimal(share["numerator"]), Decimal(share["denominator"]))
            assert figures == tuple(
                Decimal(expected[("company:ACME", "2024-06", box)])
                for box in ("survey_top2_box", "survey_responses")
            )
        cards_after = await _newest_cards(settings)
        changed = 0
        revised_entities: set[str] = set()
        for key, old in cards_before.items():
            new = cards_after[key]
            if _figures(new) == _figures(old):
                assert new["scorecard_id"] == old["scorecard_id"], key
                continue
            changed += 1
            revised_entities.add(key[0])
            assert new["revision"] == old["revision"] + 1, key
            assert new["revision_reason"] == "definition_change", key
            assert new["previous_definitions"]["hash"] == old_config.definitions.hash
            assert new["definitions"] == new_config.definitions.model_dump()
        # Only Kyoto's profile (fd_agency) weighs the survey top box.
        assert changed > 0
        assert revised_entities == {"branch:B08"}
        # And every month whose top box the new threshold changes for Kyoto is among them.
        old_counts = await reference(settings, CALENDAR)
        moved = {
            month
            for (entity, month, component), count in expected.items()
            if entity == "branch:B08"
            and component == "survey_top_box"
            and len(month) == 7
            and count != old_counts.get((entity, month, component), 0)
        }
        assert moved
        for month in moved & {period for _, period in cards_before}:
            assert cards_after[("branch:B08", month)]["revision_reason"] == "definition_change"

        # And the changed scores, on kpi.scores.v1.
        def revised(record: Any) -> dict[str, Any] | None:
            score: dict[str, Any] = json.loads(record.value)
            wanted = ("company:ACME", "2024-06", "survey_top_box", "definition_change")
            found = (score["entity"], score["period"], score["kpi"], score["revision_reason"])
            return score if found == wanted else None

        records = await read_until(
            settings, [topics.SCORES], lambda rs: any(revised(r) for r in rs), timeout_s=180
        )
        score = next(s for r in records if (s := revised(r)) is not None)
        top_box = expected[("company:ACME", "2024-06", "survey_top_box")]
        assert Decimal(score["numerator"]) == top_box
        assert score["previous_definitions"]["hash"] == old_config.definitions.hash

        # Their progress is recorded; told they stopped after company:ACME (a crash of the
        # owner of partition 0), scoring goes on from there within seconds, with the previous
        # definitions rebuilt from the files it kept, and sends the pairs after it again.
        finished = {"to": building, "previous": FIRST, "finished": True}
        await _until(
            lambda: _revisions_are(settings, finished), 180, "the score revisions to finish"
        )
        ends = await end_offsets(settings, [topics.SCORES])
        await _set_revisions(
            settings, {**finished, "after": ["company:ACME", "R30D"], "finished": False}
        )
        await _until(
            lambda: _revisions_are(settings, finished), 120, "the score revisions to go on"
        )
        again = await read_until(
            settings,
            [topics.SCORES],
            lambda rs: any(
                r.offset >= ends.get(TopicPartition(r.topic, r.partition), 0) for r in rs
            ),
            timeout_s=60,
        )
        resent = [json.loads(r.value) for r in again if _after(r, ends)]
        resent = [s for s in resent if s["revision_reason"] == "definition_change"]
        assert resent
        assert all(s["entity"] > "company:ACME" for s in resent)
        assert all(s["previous_definitions"]["hash"] == old_config.definitions.hash for s in resent)

        # Rolled back: refused while the files are the new ones, then the answers of before.
        refused = await asyncio.to_thread(kpi, env, "recompute", "--rollback")
        assert refused.returncode == 2
        assert "put back the files" in refused.stderr
        (config_dir / "kpis.yaml").write_text(old_kpis, encoding="utf-8")
        (config_dir / "definitions.yaml").write_text(old_label, encoding="utf-8")
        back = await asyncio.to_thread(kpi, env, "recompute", "--rollback")
        assert back.returncode == 0, back.stdout + back.stderr
        assert (await _control(settings))["active"] == FIRST
        assert await _answers(settings, old_config, "2024-06") == before

        dropped = await asyncio.to_thread(kpi, env, "recompute", "--drop-previous")
        assert dropped.returncode == 0, dropped.stdout + dropped.stderr
        control = await _control(settings)
        assert (control["active"], control["previous"]) == (FIRST, None)
        assert not set(collections_of(building).all()) & control["collections"]

        first_changed = {
            key for key, old in cards_before.items() if _figures(cards_after[key]) != _figures(old)
        }
        assert ("branch:B08", "FY2024") in first_changed
        moved_top_box = {
            (entity, month)
            for (entity, month, component), count in expected.items()
            if component == "survey_top_box"
            and len(month) == 7
            and count != old_counts.get((entity, month, component), 0)
        }
        await _recompute_from_october(settings, env, config_dir, logs, first_changed, moved_top_box)
    finally:
        stop(children)


FROM = "FY2024-Q3"  # October 2024 on, with April fiscal years
NEW_LABEL = "top box from 8, restated from October"


def _from_october(period: str) -> bool:
    """What `--from FY2024-Q3` republishes once every earlier period is final: the periods
    whose last month is October 2024 or later (independent of the code under test)."""
    return CALENDAR.months_of(period)[-1] >= "2024-10"


def _republished_scores(logs: Path) -> list[int]:
    """What each of scoring's definitions changes says it republished, in order."""
    said = re.findall(r"definitions changed: (\d+) scores republished", logs.read_text("utf-8"))
    return [int(n) for n in said]


async def _recompute_from_october(
    settings: Settings,
    env: dict[str, str],
    config_dir: Path,
    logs: Path,
    first_changed: set[tuple[str, str]],
    moved_top_box: set[tuple[str, str]],
) -> None:
    """The same new definitions again, `--from FY2024-Q3`: exactly the scorecards the first
    recomputation changed whose periods end in October 2024 or later are republished (the
    earlier ones, all final, stay as published), and the changed scores of those periods."""

    async def reporting_back() -> bool:
        return bool((await _control(settings))["reporting"] == FIRST)

    async def scoring_caught_up() -> bool:  # on the first generation again, every event
        ends = await end_offsets(settings, [topics.EVENTS])
        return await _committed(settings, FIRST) >= sum(ends.values())

    async def scoring_republished_twice() -> bool:
        # For the switch (begun, then gone on with after the simulated crash), and for the
        # rollback.
        return len(_republished_scores(logs)) == 3

    await _until(reporting_back, 180, "reporting to follow the rollback")
    await _until(scoring_caught_up, 180, "scoring to apply every event to the first generation")
    await _until(scoring_republished_twice, 180, "scoring to republish for the rollback")
    rolled_back = await _newest_cards(settings)
    client = await _client(settings)
    try:
        final = await client[settings.mongodb_database]["reporting_state"].find_one(
            {"_id": "final"}
        )
    finally:
        await client.close()
    earlier = {period for _, period in rolled_back if not _from_october(period)}
    assert earlier >= {"2024-04", "2024-09", "FY2024-Q1", "FY2024-Q2", "FY2024-H1"}
    assert earlier <= set((final or {})["periods"]), "every earlier period is final"
    said_before = len(_republished_scores(logs))
    scores_end = await end_offsets(settings, [topics.SCORES])

    _new_definitions(config_dir)
    (config_dir / "definitions.yaml").write_text(f"label: {NEW_LABEL}\n", encoding="utf-8")
    done = await asyncio.to_thread(kpi, env, "recompute", "--from", FROM)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"the switch republishes the periods from {FROM} on (ending on or after 2024-10-01)" in (
        done.stdout
    )
    control = await _control(settings)
    generation = control["active"]
    assert control["known"][generation]["republish_from"] == FROM

    async def reporting_followed() -> bool:
        return bool((await _control(settings))["reporting"] == generation)

    await _until(reporting_followed, 180, "reporting to follow the switch")
    cards = await _newest_cards(settings)
    republished = {
        key for key, card in cards.items() if card["revision"] != rolled_back[key]["revision"]
    }
    assert republished == {key for key in first_changed if _from_october(key[1])}
    assert len(republished) == len([k for k in first_changed if _from_october(k[1])]) > 0
    assert any(not _from_october(period) for _, period in first_changed), "some are left"
    for key in republished:
        card = cards[key]
        assert (card["revision"], card["revision_reason"]) == (
            rolled_back[key]["revision"] + 1,
            "definition_change",
        )
        assert card["definitions"]["label"] == NEW_LABEL
        assert card["previous_definitions"] == rolled_back[key]["definitions"]
    for key, card in rolled_back.items():
        if key not in republished:
            assert cards[key]["scorecard_id"] == card["scorecard_id"], key

    # The scores: the top box of every (entity, month) from October whose count the new
    # threshold moves, and nothing of an earlier period.
    async def said_it() -> bool:
        return len(_republished_scores(logs)) > said_before

    await _until(said_it, 180, "scoring to republish the changed scores")
    sent = _republished_scores(logs)[-1]

    def ours(record: Any) -> dict[str, Any] | None:
        score: dict[str, Any] = json.loads(record.value)
        revised = score.get("revision_reason") == "definition_change"
        return score if revised and score["definitions"]["label"] == NEW_LABEL else None

    records = await read_until(
        settings,
        [topics.SCORES],
        lambda rs: sum(1 for r in rs if ours(r) is not None) >= sent,
        timeout_s=120,
        start=scores_end,
    )
    scores = [s for r in records if (s := ours(r)) is not None]
    assert len(scores) == sent > 0
    assert all(_from_october(s["period"]) for s in scores)
    top_box = {(s["entity"], s["period"]) for s in scores if s["kpi"] == "survey_top_box"}
    assert {key for key in top_box if len(key[1]) == 7} == {
        key for key in moved_top_box if _from_october(key[1])
    }
