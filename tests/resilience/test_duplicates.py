"""Duplicates (issue 14, docs/resilience.md): every upstream record of a demo replay published
twice, the second copy shuffled within a window far shorter than the partition's allowed
lateness, while ingest is killed twice (so it re-publishes canonical events it had sent before
the crash); then a range of kpi.events.v1 is re-published as a crashed ingest would. The state
equals the reference recomputation, and the re-published canonical events change nothing."""

import asyncio
import json
import random
import time
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from shared import topics
from shared.kafka import aiokafka_options
from shared.settings import Settings
from tests.resilience.end_state import verify_end_state
from tests.resilience.harness import (
    Pipeline,
    demo_documents,
    finish,
    replay,
    scaled,
    write_demo,
)
from tests.support.pipeline_runs import records_of, scoring_state, wait_idle
from tests.support.topics_io import read_until

pytestmark = pytest.mark.resilience
EVENTS = 10_000
# Records a block: the demo stream spreads EVENTS over 75 days, so a block is about 0.75 day
# and a copy trails its original by under 4 blocks, 3 days; the allowed lateness is 7 days.
WINDOW = 100
REPUBLISHED = 5_000


def doubled(documents: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """Each block of WINDOW records, then the previous block again in another order."""
    shuffle = random.Random(seed)
    blocks = [documents[i : i + WINDOW] for i in range(0, len(documents), WINDOW)]
    out: list[dict[str, Any]] = []
    for i, block in enumerate([*blocks, []]):
        out += block
        if i > 0:
            again = list(blocks[i - 1])
            shuffle.shuffle(again)
            out += again
    return out


def test_doubled_keeps_every_record_twice_in_another_order() -> None:
    documents = [{"source": "s", "event_id": str(i)} for i in range(1_000)]
    twice = doubled(documents, seed=1)
    assert sorted(twice, key=lambda d: int(d["event_id"])) == sorted(
        documents + documents, key=lambda d: int(d["event_id"])
    )
    seen: set[str] = set()
    copies = []
    for document in twice:
        if document["event_id"] in seen:
            copies.append(document)
        seen.add(document["event_id"])
    assert copies != documents, "the copies come in another order"
    first = {d["event_id"]: i for i, d in reversed(list(enumerate(twice)))}
    last = {d["event_id"]: i for i, d in enumerate(twice)}
    assert max(last[k] - first[k] for k in first) < 4 * WINDOW, "a copy strays too far"


async def test_every_record_twice_and_a_crashed_ingest_give_the_reference_state(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    documents = demo_documents(scaled(EVENTS), seed=31)
    demo = write_demo(tmp_path / "twice.jsonl", doubled(documents, seed=32))
    begun = time.monotonic()
    publishing = replay(pipeline.env, demo)
    for pause in (6.0, 10.0):
        await asyncio.sleep(pause)
        pipeline.kill("ingest")
    sent = await finish(publishing)
    assert f"sent {2 * len(documents)}, failed 0" in sent, sent
    verified = await verify_end_state(pipeline, documents)
    assert verified.dead_letters == 0
    before = await scoring_state(pipeline.settings)

    await _republish_events(pipeline.settings, scaled(REPUBLISHED))
    await wait_idle(pipeline.env, "scoring", "alerts")
    assert await scoring_state(pipeline.settings) == before, "a re-published event counted twice"
    events = await records_of(pipeline.settings, topics.EVENTS)
    assert len(events) == verified.canonical_events + scaled(REPUBLISHED)
    print(  # the figures docs/resilience.md quotes
        "resilience-figures duplicates "
        + json.dumps(
            {
                "events": len(documents),
                "published": 2 * len(documents),
                "ingest_kills": pipeline.kills["ingest"],
                "republished_canonical": scaled(REPUBLISHED),
                "total_s": round(time.monotonic() - begun),
                "peak_rss_mib": pipeline.peak_mib(),
                **verified.__dict__,
            }
        )
    )


async def _republish_events(settings: Settings, count: int) -> None:
    records = await read_until(settings, [topics.EVENTS], lambda rs: len(rs) >= count, 60)
    producer = AIOKafkaProducer(**aiokafka_options(settings), acks="all", linger_ms=10)
    await producer.start()
    try:
        futures = [await producer.send(topics.EVENTS, r.value, key=r.key) for r in records[:count]]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
