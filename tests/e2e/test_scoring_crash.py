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
from zoneinfo import ZoneInfo

import pytest
from aiokafka import AIOKafkaProducer

from services.demo.generator import generate_events, write_jsonl
from shared import topics
from shared.config.loading import load_calendar, load_org
from shared.kafka import aiokafka_options
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.localstack import LocalStack
from shared.settings import Settings
from tests.support.pipeline_runs import (
    assert_same,
    dead_letters,
    kpi,
    reference,
    scoring_state,
    serve,
    wait_idle,
)
from tests.support.stack_fixtures import service_env
from tests.support.topics_io import read_until

pytestmark = pytest.mark.e2e
CALENDAR = FiscalCalendar(load_calendar("config/calendar.yaml"))


def _demo_file(path: Path, count: int, seed: int) -> None:
    org = load_org(Path("config/org.yaml"))
    start = datetime(2024, 4, 1, tzinfo=ZoneInfo("Asia/Tokyo"))
    stream = generate_events(org, start=start, end=start + timedelta(days=90), seed=seed)
    write_jsonl([d for _, d in zip(range(count), stream, strict=False)], path)


async def test_kill_9_three_times_then_the_state_equals_a_recomputation(
    private_stack: LocalStack, tmp_path: Path
) -> None:
    settings = private_stack.settings
    env = service_env(settings)
    demo = tmp_path / "demo.jsonl"
    _demo_file(demo, 50_000, seed=5)
    logs = tmp_path / "services.log"
    ingest = serve("ingest", env, logs)
    scoring = serve("scoring", env, logs)
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
            scoring = serve("scoring", env, logs)
        assert await asyncio.to_thread(replay.wait, 300) == 0
        await wait_idle(env)
        first = await scoring_state(settings)
        assert_same(first, await reference(settings, CALENDAR))
        assert await dead_letters(settings) == [], "the demo history is clean: nothing is late"

        # The whole input again: ingest drops every repeat, and scoring sees nothing new.
        again = await asyncio.to_thread(kpi, env, "replay", str(demo))
        assert again.returncode == 0, again.stdout
        # And a range of kpi.events.v1 re-published as ingest would after a crash.
        await _republish_events(settings, 5_000)
        await wait_idle(env)
        assert await scoring_state(settings) == first
        assert await dead_letters(settings) == []
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
        serve("ingest", env, logs),
        serve("scoring", env, logs),
        serve("scoring", second_env, logs),
    ]
    try:
        done = await asyncio.to_thread(kpi, env, "replay", str(demo))
        assert done.returncode == 0, done.stdout
        await wait_idle(env)
        assert_same(await scoring_state(settings), await reference(settings, CALENDAR))
        assert await dead_letters(settings) == []
        assert (
            json.loads(
                (
                    await asyncio.to_thread(
                        kpi,
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
