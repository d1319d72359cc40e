"""Outages (issue 14, docs/resilience.md) in the middle of a replay, the four services running:

- the broker cut off for 30 s: Tansu keeps its topics in memory (`--storage-engine memory://`),
  so a restart would lose every topic and record; a network cut is what the services can be
  expected to survive, and SIGSTOP / SIGCONT of the broker process is one;
- the database stopped for 30 s and started again: SecantusDB keeps its data on disk
  (`--storage-path`, `--sync-on-commit`), so this is a real stop and start.

Each time: every service's /readyz turns 503 during the outage and 200 after it, no service
dies, no Kafka group commits an offset while the database that holds its work is down, and the
end state passes every check of `verify_end_state`."""

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import pytest

from shared import topics
from shared.localstack import LocalStack
from shared.localstack.stack import Component
from tests.resilience.end_state import verify_end_state
from tests.resilience.harness import (
    SERVICES,
    Pipeline,
    ReadinessLog,
    committed_offsets,
    demo_documents,
    finish,
    poll_readiness,
    replay,
    scaled,
    write_demo,
)

pytestmark = pytest.mark.resilience
OUTAGE_S = 30.0
EVENTS = 15_000


async def _outage_during_replay(
    pipeline: Pipeline, stack: LocalStack, tmp_path: Path, component: Component, seed: int
) -> None:
    documents = demo_documents(scaled(EVENTS), seed=seed)
    demo = write_demo(tmp_path / "demo.jsonl", documents)
    begun = time.monotonic()
    readiness = ReadinessLog()
    poller = asyncio.create_task(poll_readiness(pipeline, readiness, begun))
    publishing = replay(pipeline.env, demo)
    await asyncio.sleep(12.0)  # well into the replay: every service has work in flight
    frozen: dict[str, dict[str, int]] = {}
    cut_at = time.monotonic() - begun
    process = stack.processes[component]
    pid = process.pid()
    assert pid is not None
    if component is Component.KAFKA:
        os.kill(pid, signal.SIGSTOP)
        await asyncio.sleep(OUTAGE_S)
        resumed_at = time.monotonic() - begun
        os.kill(pid, signal.SIGCONT)
    else:
        await asyncio.to_thread(process.stop)
        await asyncio.sleep(5.0)  # batches in flight fail now
        frozen = await _group_offsets(pipeline)
        await asyncio.sleep(OUTAGE_S - 5.0)
        assert await _group_offsets(pipeline) == frozen, "an offset moved with the database down"
        resumed_at = time.monotonic() - begun
        await asyncio.to_thread(stack.start_component, component)
        await stack.wait_ready(component, timeout_s=60)
    back_at = time.monotonic() - begun
    pipeline.assert_alive()
    sent = await finish(publishing)
    assert f"sent {len(documents)}, failed 0" in sent, sent
    verified = await verify_end_state(pipeline, documents)
    poller.cancel()

    for name in SERVICES:
        during = readiness.codes(name, cut_at + 5, resumed_at)
        after = readiness.codes(name, back_at, 1e9)
        assert 503 in during or 0 in during, f"{name} stayed ready during the outage: {during}"
        assert during.count(200) == 0, f"{name} answered ready during the outage: {during}"
        assert after, f"{name}: no answer after the outage"
        assert after[-1] == 200, (
            f"{name} is not ready again: {after[-10:]}, last reason "
            f"{readiness.last_reason.get(name)}\n{pipeline.log_problems(name)}"
        )
    recovered = {
        name: next(
            (round(at - back_at, 1) for at, codes in readiness.samples
             if at >= back_at and codes[name] == 200),
            None,
        )
        for name in SERVICES
    }  # fmt: skip
    print(  # the figures docs/resilience.md quotes
        f"resilience-figures outage-{component.value} "
        + json.dumps(
            {
                "events": len(documents),
                "outage_s": round(resumed_at - cut_at, 1),
                "readyz_during": {
                    n: sorted(set(readiness.codes(n, cut_at + 5, resumed_at))) for n in SERVICES
                },
                "ready_again_after_s": recovered,
                "total_s": round(time.monotonic() - begun),
                "peak_rss_mib": pipeline.peak_mib(),
                **verified.__dict__,
            }
        )
    )


async def _group_offsets(pipeline: Pipeline) -> dict[str, dict[str, int]]:
    return {
        "ingest": await committed_offsets(pipeline.settings, topics.INGEST_GROUP, topics.UPSTREAM),
        "alerts": await committed_offsets(
            pipeline.settings, topics.ALERTS_GROUP, (topics.SCORES, topics.EVENTS)
        ),
    }


async def test_the_broker_cut_off_for_30_s_mid_replay(
    pipeline: Pipeline, private_stack: LocalStack, tmp_path: Path
) -> None:
    await _outage_during_replay(pipeline, private_stack, tmp_path, Component.KAFKA, seed=21)


async def test_the_database_stopped_for_30_s_mid_replay(
    pipeline: Pipeline, private_stack: LocalStack, tmp_path: Path
) -> None:
    await _outage_during_replay(pipeline, private_stack, tmp_path, Component.MONGODB, seed=22)
