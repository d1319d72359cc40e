"""Overload (issue 14, docs/resilience.md): upstream records published for a bounded time at
three times the rate scoring applies events, measured from its metric as the load goes (so the
overload is three times capacity however busy the machine is), the four services running with
`KPI_SCORING_MAX_BATCH` set. Every service's peak RSS stays under its bound,
nothing is dropped (every record accepted or dead-lettered), and the backlog drains once the
load stops.

The issue asks for 10 minutes of load; the tier's budget (15 minutes for all of it on a 2-core
machine) leaves room for `KPI_RESILIENCE_OVERLOAD_S` (default 45 s) of load and its drain:
a backlog built at 3× capacity takes twice as long to drain as it took to build. `make
test-overload-long` runs the 10 minutes (about 40 minutes with the drain and the checks)."""

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer

from services.cli.publishing import route
from shared.kafka import aiokafka_options
from shared.localstack import LocalStack
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

LOAD_S: Final = float(os.environ.get("KPI_RESILIENCE_OVERLOAD_S", "45"))
# The offered rate starts here and follows three times scoring's measured rate (over the last
# WINDOW_S seconds), within [100, MAX_RATE] records a second. MAX_RATE is above three times
# what scoring applies here (about 1,800 a second with its batches of 2,000), so the ceiling
# does not hold the overload under three times.
START_RATE: Final = 1_500
WINDOW_S: Final = 15.0
MAX_RATE: Final = 6_000
MAX_BATCH: Final = 2_000  # scoring commits every few seconds: its rate can be measured
# Peak RSS bounds (MiB); scoring's follows from KPI_SCORING_MAX_BATCH (about 2 KiB an event).
# Reporting's follows the periods of the history it closes, not the backlog: 290-306 MiB in
# the 10-minute runs over about 1,650 demo days, 185 in the 45-second one (docs/resilience.md).
# Ingest's is its plateau under a backlog (batches of 10,000 records, the consumer's fetch
# buffers) plus a sixth: 291-301 MiB in the 10-minute runs, 278 in 45 s at 6,000 a second.
BOUNDS_MIB: Final = {"ingest": 350, "scoring": 450, "alerts": 300, "reporting": 350}


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


async def _applied(pipeline: Pipeline) -> float | None:
    """Scoring's `kpi_scoring_events_applied_total` (since its start); None when it does not
    answer within 3 s (under overload a batch's work holds its event loop for seconds)."""
    port = pipeline.settings.http_port_for("scoring")
    try:
        async with httpx.AsyncClient(timeout=3) as http:
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    except httpx.HTTPError:
        return None
    return sum(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("kpi_scoring_events_applied_total")
    )


@dataclass
class Load:
    sent: int = 0
    seconds: float = 0.0
    applied: float = 0.0  # events scoring applied while the load lasted
    rates: list[int] = field(default_factory=list)  # the offered rate, each second
    unanswered: int = 0  # seconds scoring's /metrics did not answer within 3 s


async def _three_times(pipeline: Pipeline, documents: list[dict[str, Any]]) -> Load:
    """Publish for LOAD_S seconds at three times the rate scoring applies events (measured
    from its metric over the last WINDOW_S seconds, each second), starting at START_RATE;
    every 0.1 s what the rate owes since the last send, so that a round that runs long (the
    metric read may take 3 s on a busy machine) does not lower the rate offered."""
    producer = AIOKafkaProducer(
        **aiokafka_options(pipeline.settings), acks="all", linger_ms=20, max_batch_size=512 * 1024
    )
    await producer.start()
    load = Load()
    first = await _applied(pipeline)
    assert first is not None, "scoring's /metrics does not answer"
    history = [(time.monotonic(), first)]
    started = time.monotonic()
    try:
        pending = []
        rate = START_RATE
        owed_since = started  # records are due at `rate` a second from here on
        while time.monotonic() - started < LOAD_S and load.sent < len(documents):
            second = time.monotonic()
            load.rates.append(rate)
            for tenth in range(10):
                due = int(rate * (time.monotonic() - owed_since))
                owed_since += due / rate
                for document in documents[load.sent : load.sent + due]:
                    topic, key = route(document)
                    value = json.dumps(document, separators=(",", ":")).encode()
                    pending.append(await producer.send(topic, value, key=key))
                load.sent = min(len(documents), load.sent + due)
                delay = second + (tenth + 1) / 10 - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            applied = await _applied(pipeline)
            if applied is None:
                load.unanswered += 1
                continue
            history.append((time.monotonic(), applied))
            then, before = next((at, n) for at, n in history if at >= history[-1][0] - WINDOW_S)
            elapsed = history[-1][0] - then
            if history[-1][0] - started >= WINDOW_S and elapsed > 0:
                rate = max(100, min(MAX_RATE, round(3 * (history[-1][1] - before) / elapsed)))
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    load.seconds = time.monotonic() - started
    load.applied = history[-1][1] - first
    return load


async def test_three_times_scoring_capacity_stays_bounded_and_drains(bounded: Pipeline) -> None:
    pool = scaled(int(MAX_RATE * LOAD_S))
    # About 600 events a demo day, so whatever share of the pool goes out spans a month close.
    documents = demo_documents(pool, seed=41, days=max(30, pool // 600))
    load = await _three_times(bounded, documents)
    bounded.assert_alive()
    published = documents[: load.sent]
    load_end = time.monotonic()
    print(f"overload offered {load.sent} records in {load.seconds:.0f}s: {load.rates}")
    # The drain takes about twice the load (3× capacity), and longer on a busy machine.
    await wait_idle(
        bounded.env, "ingest", "scoring", "alerts", timeout_s=max(1200, round(6 * LOAD_S))
    )
    drained = time.monotonic()
    bounded.sample()
    verified = await verify_end_state(bounded, published)
    peaks = bounded.peak_mib()
    over = {n: (peaks[n], BOUNDS_MIB[n]) for n in SERVICES if peaks[n] > BOUNDS_MIB[n]}
    assert not over, f"peak RSS over its bound (MiB): {over}; every peak: {peaks}"
    print(  # the figures docs/resilience.md quotes
        "resilience-figures overload "
        + json.dumps(
            {
                "events": load.sent,
                "load_s": round(load.seconds, 1),
                "offered_rate": round(load.sent / load.seconds),
                "applied_rate_during_load": round(load.applied / load.seconds),
                "times_capacity": round(load.sent / max(1.0, load.applied), 2),
                "rates_offered": load.rates,
                "metrics_unanswered": load.unanswered,
                "drain_s": round(drained - load_end, 1),
                "max_batch": MAX_BATCH,
                "peak_rss_mib": peaks,
                "bounds_mib": BOUNDS_MIB,
                **verified.__dict__,
            }
        )
    )
