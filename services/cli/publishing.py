"""Publish upstream event documents to their topics, keyed by their org key."""

import json
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer

from shared import topics
from shared.kafka import aiokafka_options
from shared.settings import Settings


class UnroutableEvent(ValueError):
    """A document names no known event type, so it has no upstream topic."""


@dataclass
class PublishTotals:
    """What a publishing run did."""

    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def route(document: Mapping[str, Any]) -> tuple[str, bytes | None]:
    """The upstream topic and partition key of an event document."""
    event_type = document.get("event_type")
    topic = topics.UPSTREAM_BY_EVENT_TYPE.get(event_type) if isinstance(event_type, str) else None
    if topic is None:
        known = ", ".join(topics.UPSTREAM_BY_EVENT_TYPE)
        raise UnroutableEvent(f"event_type {event_type!r} is not one of {known}")
    key = document.get("agent_id") or document.get("branch_id")
    return topic, str(key).encode() if key is not None else None


@asynccontextmanager
async def producer(settings: Settings) -> AsyncIterator[AIOKafkaProducer]:
    """A started batching producer: acks from all replicas, idempotent where supported."""
    client = AIOKafkaProducer(
        **aiokafka_options(settings),
        acks="all",
        enable_idempotence=settings.kafka_idempotent_producer,
        linger_ms=20,
        max_batch_size=512 * 1024,
        client_id="kpi-cli",
    )
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


async def publish_documents(
    client: AIOKafkaProducer,
    documents: Iterable[tuple[str, Mapping[str, Any]]],
    totals: PublishTotals,
) -> None:
    """Send (label, document) pairs and wait for every acknowledgement.

    What fails is counted and reported under its label (a line number, an event id).
    """
    pending = []
    for label, document in documents:
        try:
            topic, key = route(document)
        except UnroutableEvent as exc:
            totals.failed += 1
            totals.errors.append(f"{label}: {exc}")
            continue
        value = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        pending.append(await client.send(topic, value, key=key))
    for future in pending:
        try:
            await future
        except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
            totals.failed += 1
            totals.errors.append(f"broker refused a message: {exc}")
        else:
            totals.sent += 1
