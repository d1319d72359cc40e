"""Liveness and lag on the real broker (Tansu): ingest whose output stops answering stalls;
`/readyz` answers 503 with the reason and `kpi_consumer_stalled` turns 1; the lag metric
counts exactly the records published and not processed, although Tansu answers ListOffsets
short of the end; when the output answers again everything recovers and the lag reads 0."""

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client import CollectorRegistry

from services.ingest.app import create_app as create_ingest
from shared import topics
from shared.config.loading import load_org
from shared.kafka import aiokafka_options
from shared.kafka_output import Outbound
from shared.localstack import LocalStack
from shared.localstack.probes import free_port_block
from shared.settings import Settings
from tests.support.bad_corpus import good_messages
from tests.support.fakes import RecordingOutput
from tests.support.running import running

pytestmark = pytest.mark.integration
STALL_AFTER_S = 4.0
BATCHES = (7, 13, 5, 11)  # records per producer batch: Tansu's ListOffsets falls short by 10


class GatedOutput(RecordingOutput):
    """An output that does not answer while its gate is shut (a broker that hangs)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def send_all(self, messages: Sequence[Outbound]) -> None:
        await self.gate.wait()
        await super().send_all(messages)


async def _publish_in_batches(settings: Settings, messages: Sequence[bytes]) -> None:
    """Publish to partition 0 of the policy topic, one producer batch per entry of BATCHES."""
    producer = AIOKafkaProducer(**aiokafka_options(settings), acks="all", linger_ms=100)
    await producer.start()
    try:
        at = 0
        for size in BATCHES:
            sends = [
                await producer.send(topics.POLICY, raw, partition=0)
                for raw in messages[at : at + size]
            ]
            await asyncio.gather(*sends)
            at += size
    finally:
        await producer.stop()


async def _listed_end(settings: Settings) -> int:
    """What the broker answers to ListOffsets(latest) for the partition."""
    consumer = AIOKafkaConsumer(**aiokafka_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topics.POLICY, 0)
        return int((await consumer.end_offsets([tp]))[tp])
    finally:
        await consumer.stop()


def _sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, {"service": "ingest", **labels})


def _lag(registry: CollectorRegistry) -> float | None:
    return _sample(registry, "kpi_consumer_lag_records", topic=topics.POLICY, partition="0")


async def _until(condition: object, what: str, timeout_s: float = 60) -> None:
    """Poll `condition()` (sync or async) until true; the timeout only bounds a hang."""
    async with asyncio.timeout(timeout_s):
        while True:
            result = condition()  # type: ignore[operator]
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            await asyncio.sleep(0.2)
    pytest.fail(what)  # pragma: no cover


async def test_a_stalled_consumer_is_not_ready_and_its_lag_is_exact_on_tansu(
    private_stack: LocalStack, unique: str
) -> None:
    settings = private_stack.settings.model_copy(update={"stall_timeout_s": STALL_AFTER_S})
    agents = sorted(load_org(settings.config_dir / "org.yaml").agent_ids)[:4]
    start = datetime.now(UTC) - timedelta(hours=2)
    policies = [
        raw
        for raw in good_messages(400, agents, start, id_prefix=f"{unique}-")
        if json.loads(raw)["event_type"] == "policy"
    ][: sum(BATCHES)]
    assert len(policies) == sum(BATCHES)
    output = GatedOutput()
    app = create_ingest(settings, output=output)
    registry = app.registry

    async with running(app, free_port_block(1)) as base, httpx.AsyncClient(base_url=base) as http:
        await _publish_in_batches(settings, policies)
        listed = await _listed_end(settings)

        # The handler holds its first batch and cannot finish it: nothing is processed.
        await _until(lambda: _lag(registry) == len(policies), "the lag never read 36")
        await _until(lambda: _sample(registry, "kpi_consumer_stalled") == 1, "never stalled")
        stalled = await http.get("/readyz")
        no_progress = _sample(registry, "kpi_consumer_no_progress_seconds")

        output.gate.set()
        await _until(lambda: _sample(registry, "kpi_consumer_stalled") == 0, "never recovered")
        await _until(lambda: _lag(registry) == 0, "the lag never returned to 0")
        recovered = await http.get("/readyz")

    assert listed < len(policies), "Tansu answered ListOffsets with the true end"
    assert stalled.status_code == 503
    body = stalled.json()
    assert body["checks"] == {"kafka": True, "mongodb": True, "progress": False}
    assert body["reasons"]["progress"].startswith("no progress for ")
    assert f"insurance.policy.v1[0] {len(policies)} records behind" in body["reasons"]["progress"]
    assert no_progress is not None
    assert no_progress >= STALL_AFTER_S
    assert recovered.status_code == 200
    assert recovered.json()["reasons"] == {}
    assert len(output.on(topics.EVENTS)) == len(policies)
