"""Ingest throughput: demo events already on the upstream topics, the real ingest service
consuming them, measured between its first and last output on kpi.events.v1."""

import asyncio
import json
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.demo.generator import generate_events
from services.idle import ingest_backlog
from shared import topics
from shared.config.loading import load_org
from shared.idle import wait_idle
from shared.kafka import aiokafka_options
from shared.settings import Settings

from .processes import CpuUsage, metric, services
from .profiles import ProcessProfile, record
from .raw import Measurement


def demo_documents(count: int, seed: int = 3) -> list[dict[str, object]]:
    """The first `count` events of the demo company from April 2024."""
    org = load_org("config/org.yaml")
    start = datetime(2024, 4, 1, tzinfo=ZoneInfo("Asia/Tokyo"))
    stream = generate_events(org, start=start, end=start + timedelta(days=365), seed=seed)
    return [document for _, document in zip(range(count), stream, strict=False)]


async def publish(settings: Settings, documents: Sequence[dict[str, object]]) -> None:
    """Put the documents on their upstream topics, keyed by agent."""
    producer = AIOKafkaProducer(
        **aiokafka_options(settings), acks="all", linger_ms=20, max_batch_size=512 * 1024
    )
    await producer.start()
    try:
        futures = []
        for document in documents:
            topic = topics.UPSTREAM_BY_EVENT_TYPE[str(document["event_type"])]
            key = str(document.get("agent_id") or document.get("branch_id")).encode()
            futures.append(await producer.send(topic, json.dumps(document).encode(), key=key))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def _output_span(settings: Settings, expected: int) -> tuple[int, float]:
    consumer = AIOKafkaConsumer(
        topics.EVENTS, **aiokafka_options(settings), group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    first = last = 0
    seen = 0
    deadline = time.monotonic() + 120
    try:
        while seen < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            if not batches and seen:
                break
            for records in batches.values():
                for record in records:
                    first = record.timestamp if not first else min(first, record.timestamp)
                    last = max(last, record.timestamp)
                    seen += 1
    finally:
        await consumer.stop()
    return seen, (last - first) / 1000


def _stop(spies: list[subprocess.Popen[bytes]]) -> None:
    """py-spy writes its samples when interrupted."""
    for spy in spies:
        spy.send_signal(signal.SIGINT)
    for spy in spies:
        try:
            spy.wait(timeout=30)
        except subprocess.TimeoutExpired:
            spy.kill()


async def ingest_throughput(
    settings: Settings,
    count: int,
    log: Path,
    stack: Mapping[str, int],
    *,
    profiles: list[ProcessProfile] | None = None,
) -> Measurement:
    """Events/s of one ingest process over `count` demo events already published.

    With `profiles` (a list to fill), py-spy samples ingest and the database from the moment
    ingest is ready until it is idle, and their profiles are appended."""
    documents = demo_documents(count)
    await publish(settings, documents)
    started = time.perf_counter()
    async with services(settings, ["ingest"], log) as running:
        ingest = running.pids["ingest"]
        usage = CpuUsage({**stack, "ingest": ingest}).start()
        targets = {"ingest": ingest, "database": stack["database"]} if profiles is not None else {}
        spies = {name: record(pid, log.with_name(f"{name}.pyspy")) for name, pid in targets.items()}
        backlog = await wait_idle(settings, [ingest_backlog(settings)], timeout_s=600)
        cpu = usage.stop()
        _stop([spy for spy, _ in spies.values() if spy is not None])
        if any(backlog.values()):
            raise RuntimeError(f"ingest did not finish: {backlog}")
        batches = metric(settings, "ingest", "kpi_ingest_batch_seconds_count")
        busy = metric(settings, "ingest", "kpi_ingest_batch_seconds_sum")
        rss = running.peaks()
    if profiles is not None:
        for name, (spy, output) in spies.items():
            if spy is not None and output.exists():
                profiles.append(ProcessProfile(name, output.read_text()))
    wall = time.perf_counter() - started
    seen, span = await _output_span(settings, count)
    name = (
        f"ingest alone: first to last output on kpi.events.v1 ({wall:.0f}s with start-up; "
        f"{batches:.0f} batches, {busy:.1f}s inside them)"
    )
    return Measurement(name, seen, span, cpu=cpu, rss_mib=rss)
