"""Ingest throughput: demo events already on the upstream topics, the real ingest service
consuming them, measured between its first and last output on kpi.events.v1."""

import asyncio
import json
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
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

from .processes import CpuUsage, cpu_seconds, metric, port_base, services
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


GROUP_SETTLES_S = 15  # Tansu holds a JoinGroup for about half the session timeout


async def ingest_throughput(
    settings: Settings,
    count: int,
    log: Path,
    stack: Mapping[str, int],
    *,
    profiles: list[ProcessProfile] | None = None,
    instances: int = 1,
) -> Measurement:
    """Events/s of `instances` ingest processes (one consumer group) over `count` demo events
    already published.

    With `profiles` (a list to fill), py-spy samples the first ingest and the database from the
    moment ingest is ready until it is idle, and their profiles are appended. With more than one
    instance the events are published once every instance is ready and the group has settled
    (else the first one up reads the whole backlog alone)."""
    documents = demo_documents(count)
    if instances == 1:
        await publish(settings, documents)
    started = time.perf_counter()
    each = [settings] + [
        settings.model_copy(update={"http_port_base": port_base()}) for _ in range(instances - 1)
    ]
    async with AsyncExitStack() as running_all:
        running = [
            await running_all.enter_async_context(services(s, ["ingest"], log)) for s in each
        ]
        pids = {
            f"ingest {n + 1}" if instances > 1 else "ingest": r.pids["ingest"]
            for n, r in enumerate(running)
        }
        if instances > 1:
            await asyncio.sleep(GROUP_SETTLES_S)
        usage = CpuUsage({**stack, **pids}).start()
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        if instances > 1:
            await publish(settings, documents)  # faster than ingest: a backlog builds up
        first = running[0].pids["ingest"]
        targets = {"ingest": first, "database": stack["database"]} if profiles is not None else {}
        spies = {name: record(pid, log.with_name(f"{name}.pyspy")) for name, pid in targets.items()}
        backlog = await wait_idle(settings, [ingest_backlog(settings)], timeout_s=600)
        cpu = usage.stop()
        used = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
        _stop([spy for spy, _ in spies.values() if spy is not None])
        if any(backlog.values()):
            raise RuntimeError(f"ingest did not finish: {backlog}")
        batches = sum(metric(s, "ingest", "kpi_ingest_batch_seconds_count") for s in each)
        busy = sum(metric(s, "ingest", "kpi_ingest_batch_seconds_sum") for s in each)
        rss = {
            name: peak for r, name in zip(running, pids, strict=True) for peak in r.peaks().values()
        }
    if profiles is not None:
        for name, (spy, output) in spies.items():
            if spy is not None and output.exists():
                profiles.append(ProcessProfile(name, output.read_text()))
    wall = time.perf_counter() - started
    seen, span = await _output_span(settings, count)
    per_record = sum(used.values()) / max(seen, 1) * 1e6
    who = f"{instances} ingest processes" if instances > 1 else "ingest"
    name = (
        f"{'ingest alone' if instances == 1 else f'ingest, {instances} instances'}: first to last "
        f"output on kpi.events.v1 ({wall:.0f}s with start-up; {batches:.0f} batches, {busy:.1f}s "
        f"inside them; {who} {per_record:.0f} µs of CPU a record)"
    )
    return Measurement(name, seen, span, cpu=cpu, rss_mib=rss)
