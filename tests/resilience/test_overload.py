"""Overload (issue 14, docs/resilience.md): upstream records published at a steady rate of
about three times what scoring applies on this machine, for a bounded time, the four services
running with `KPI_SCORING_MAX_BATCH` set. Every service's peak RSS stays under its bound,
nothing is dropped (every record accepted or dead-lettered), and the backlog drains once the
load stops.

The issue asks for 10 minutes of load; the tier's budget (15 minutes for all of it on a 2-core
machine) leaves room for `KPI_RESILIENCE_OVERLOAD_S` (default 60 s) of load and its drain:
a backlog built at 3× capacity takes twice as long to drain as it took to build."""

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer

from services.cli.publishing import route
from shared.kafka import aiokafka_options
from shared.localstack import LocalStack
from shared.settings import Settings
from tests.resilience.end_state import verify_end_state
from tests.resilience.harness import (
    SERVICES,
    Pipeline,
    demo_documents,
    sample_forever,
    scaled,
)
from tests.support.pipeline_runs import wait_idle

pytestmark = pytest.mark.resilience

LOAD_S: Final = float(os.environ.get("KPI_RESILIENCE_OVERLOAD_S", "60"))
# Upstream records a second: about three times scoring's end-to-end rate on the 2-core machine
# (docs/resilience.md has the rate measured in each run).
RATE: Final = int(os.environ.get("KPI_RESILIENCE_OVERLOAD_RATE", "2100"))
MAX_BATCH: Final = 10_000
# Peak RSS bounds (MiB); scoring's follows from KPI_SCORING_MAX_BATCH (about 2 KiB an event).
BOUNDS_MIB: Final = {"ingest": 400, "scoring": 700, "alerts": 400, "reporting": 400}


@pytest_asyncio.fixture(loop_scope="session")
async def bounded(private_stack: LocalStack, tmp_path: Path) -> AsyncIterator[Pipeline]:
    running = Pipeline(private_stack.settings, tmp_path, {"KPI_SCORING_MAX_BATCH": str(MAX_BATCH)})
    running.start()
    sampler = asyncio.create_task(sample_forever(running))
    try:
        await running.until_ready()
        yield running
    finally:
        sampler.cancel()
        running.stop()


async def _paced(settings: Settings, documents: list[dict[str, Any]], rate: int) -> float:
    """Publish the documents at `rate` a second (in tenths of a second); the seconds taken."""
    producer = AIOKafkaProducer(
        **aiokafka_options(settings), acks="all", linger_ms=20, max_batch_size=512 * 1024
    )
    await producer.start()
    started = time.monotonic()
    try:
        step = max(1, rate // 10)
        pending = []
        for tick, first in enumerate(range(0, len(documents), step)):
            for document in documents[first : first + step]:
                topic, key = route(document)
                value = json.dumps(document, separators=(",", ":")).encode()
                pending.append(await producer.send(topic, value, key=key))
            delay = started + (tick + 1) / 10 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.monotonic() - started


async def test_three_times_scoring_capacity_stays_bounded_and_drains(
    bounded: Pipeline, tmp_path: Path
) -> None:
    count = scaled(int(RATE * LOAD_S))
    documents = demo_documents(count, seed=41)
    begun = time.monotonic()
    publishing = await _paced(bounded.settings, documents, round(count / LOAD_S))
    bounded.assert_alive()
    load_end = time.monotonic()
    await wait_idle(bounded.env, "ingest", "scoring", "alerts", timeout_s=1200)
    drained = time.monotonic()
    bounded.sample()
    verified = await verify_end_state(bounded, documents)
    peaks = bounded.peak_mib()
    over = {n: (peaks[n], BOUNDS_MIB[n]) for n in SERVICES if peaks[n] > BOUNDS_MIB[n]}
    assert not over, f"peak RSS over its bound (MiB): {over}"
    applied_rate = count / (drained - begun)
    print(  # the figures docs/resilience.md quotes
        "resilience-figures overload "
        + json.dumps(
            {
                "events": count,
                "offered_rate": round(count / publishing),
                "load_s": round(publishing, 1),
                "drain_s": round(drained - load_end, 1),
                "applied_rate": round(applied_rate),
                "times_capacity": round(count / publishing / applied_rate, 2),
                "max_batch": MAX_BATCH,
                "peak_rss_mib": peaks,
                "bounds_mib": BOUNDS_MIB,
                **verified.__dict__,
            }
        )
    )
