"""Crashes (issue 14, docs/resilience.md): while 100,000 demo events are replayed, each of the
four services is killed with SIGKILL three times at random moments (12 kills) and started
again. Afterwards the scoring state equals the reference recomputation, the last published
score of every key equals that state, no alert episode fired twice, every scorecard has the
figures a clean reporting builds from the final state, and every upstream record is accepted
or dead-lettered."""

import asyncio
import json
import random
import time
from pathlib import Path

import pytest

from tests.resilience.end_state import verify_end_state
from tests.resilience.harness import (
    SERVICES,
    Pipeline,
    demo_documents,
    finish,
    replay,
    scaled,
    write_demo,
)

pytestmark = pytest.mark.resilience
KILLS_EACH = 3


async def test_kill_9_every_service_three_times_during_a_replay(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    documents = demo_documents(scaled(100_000), seed=14)
    demo = write_demo(tmp_path / "demo.jsonl", documents)
    begun = time.monotonic()
    publishing = replay(pipeline.env, demo)
    moments = random.Random(20261130)
    order = [name for name in SERVICES for _ in range(KILLS_EACH)]
    moments.shuffle(order)
    for name in order:
        await asyncio.sleep(moments.uniform(2.0, 9.0))
        pipeline.kill(name)
    sent = await finish(publishing)
    assert f"sent {len(documents)}, failed 0" in sent, sent

    verified = await verify_end_state(pipeline, documents)
    assert verified.dead_letters == 0, "the demo history is clean"
    assert dict(pipeline.kills) == dict.fromkeys(SERVICES, KILLS_EACH)
    print(  # the figures docs/resilience.md quotes
        "resilience-figures crashes "
        + json.dumps(
            {
                "events": len(documents),
                "kills": dict(pipeline.kills),
                "total_s": round(time.monotonic() - begun),
                "peak_rss_mib": pipeline.peak_mib(),
                **verified.__dict__,
            }
        )
    )
