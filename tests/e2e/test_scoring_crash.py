"""Scoring's exactly-once effect (DESIGN §7) with real processes: 50,000 demo events through
ingest and scoring, scoring killed with SIGKILL at three random moments and restarted; the
state equals a from-scratch recomputation, and replaying the input again changes nothing. Two
scoring instances in one group reach the same state."""

import asyncio
import json
import random
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from services.demo.generator import generate_events, write_jsonl
from services.scoring.domain.fiscal_calendar import FiscalCalendar
from shared import topics
from shared.config.loading import load_calendar, load_org
from shared.events import KpiEvent
from shared.idle import end_offsets
from shared.kafka import aiokafka_options
from shared.localstack import LocalStack
from shared.settings import Settings
from tests.support.reference_scoring import reference_counters, stored_counters
from tests.support.stack_fixtures import service_env
from tests.support.topics_io import read_until

pytestmark = pytest.mark.e2e
CALENDAR = FiscalCalendar(load_calendar("config/calendar.yaml"))


def _demo_file(path: Path, count: int, seed: int) -> None:
    org = load_org(Path("config/org.yaml"))
    start = datetime(2024, 4, 1, tzinfo=ZoneInfo("Asia/Tokyo"))
    stream = generate_events(org, start=start, end=start + timedelta(days=90), seed=seed)
    write_jsonl([d for _, d in zip(range(count), stream, strict=False)], path)


def _serve(name: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "serve", name],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _kpi(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


async def _state(settings: Settings) -> dict[tuple[str, str, str], int]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_uri.get_secret_value()
    )
    try:
        documents = await client[settings.mongodb_database]["scoring_counters"].find().to_list()
    finally:
        await client.close()
    return stored_counters(documents)


async def _reference(settings: Settings) -> dict[tuple[str, str, str], int]:
    # Everything on the topic, however long it takes to read (a fixed read time is too short on
    # a loaded machine and would make the reference, not the state, come out short).
    total = sum((await end_offsets(settings, [topics.EVENTS])).values())
    records = await read_until(
        settings, [topics.EVENTS], lambda rs: len(rs) >= total, timeout_s=180
    )
    assert len(records) == total
    events = [KpiEvent.model_validate_json(r.value) for r in records]
    return reference_counters(events, CALENDAR)


def _assert_same(state: dict[Any, int], reference: dict[Any, int]) -> None:
    missing = {k: v for k, v in reference.items() if state.get(k) != v}
    extra = {k: v for k, v in state.items() if k not in reference}
    assert not missing, f"{len(missing)} counters differ, e.g. {list(missing.items())[:5]}"
    assert not extra, f"{len(extra)} counters unexpected, e.g. {list(extra.items())[:5]}"


async def _wait_idle(env: dict[str, str]) -> None:
    done = await asyncio.to_thread(
        _kpi, env, "wait-idle", "--timeout", "400", "--service", "ingest", "--service", "scoring"
    )
    assert done.returncode == 0, done.stderr


async def test_kill_9_three_times_then_the_state_equals_a_recomputation(
    private_stack: LocalStack, tmp_path: Path
) -> None:
    settings = private_stack.settings
    env = service_env(settings)
    demo = tmp_path / "demo.jsonl"
    _demo_file(demo, 50_000, seed=5)
    logs = tmp_path / "services.log"
    ingest = _serve("ingest", env, logs)
    scoring = _serve("scoring", env, logs)
    replay = subprocess.Popen(  # noqa: ASYNC220 - runs beside the kills
        [sys.executable, "-m", "services.cli.main", "replay", str(demo)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    moments = random.Random(20241121)
    try:
        for _ in range(3):
            await asyncio.sleep(moments.uniform(3.0, 9.0))
            scoring.send_signal(signal.SIGKILL)
            scoring.wait()
            scoring = _serve("scoring", env, logs)
        assert await asyncio.to_thread(replay.wait, 300) == 0
        await _wait_idle(env)
        first = await _state(settings)
        _assert_same(first, await _reference(settings))

        # The whole input again: ingest drops every repeat, and scoring sees nothing new.
        again = await asyncio.to_thread(_kpi, env, "replay", str(demo))
        assert again.returncode == 0, again.stdout
        # And a range of kpi.events.v1 re-published as ingest would after a crash.
        await _republish_events(settings, 5_000)
        await _wait_idle(env)
        assert await _state(settings) == first
    finally:
        for child in (ingest, scoring):
            child.send_signal(signal.SIGTERM)
            child.wait(timeout=20)


async def _republish_events(settings: Settings, count: int) -> None:
    records = await read_until(settings, [topics.EVENTS], lambda rs: len(rs) >= count, 30)
    producer = AIOKafkaProducer(**aiokafka_options(settings), acks="all", linger_ms=10)
    await producer.start()
    try:
        futures = [await producer.send(topics.EVENTS, r.value, key=r.key) for r in records[:count]]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def test_two_scoring_instances_split_the_partitions_and_reach_the_same_state(
    private_stack: LocalStack, tmp_path: Path
) -> None:
    settings = private_stack.settings
    env = service_env(settings)
    demo = tmp_path / "demo.jsonl"
    _demo_file(demo, 20_000, seed=9)
    logs = tmp_path / "services.log"
    second_env = {**env, "KPI_HTTP_PORT_BASE": str(settings.http_port_base + 10)}
    children = [
        _serve("ingest", env, logs),
        _serve("scoring", env, logs),
        _serve("scoring", second_env, logs),
    ]
    try:
        done = await asyncio.to_thread(_kpi, env, "replay", str(demo))
        assert done.returncode == 0, done.stdout
        await _wait_idle(env)
        _assert_same(await _state(settings), await _reference(settings))
        assert (
            json.loads(
                (
                    await asyncio.to_thread(
                        _kpi,
                        env,
                        "scores",
                        "--entity",
                        "company:ACME",
                        "--period",
                        "2024-04",
                        "--kpi",
                        "renewal_rate",
                        "--json",
                    )
                ).stdout
            )[0]["kpi"]
            == "renewal_rate"
        )
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
            child.wait(timeout=20)
