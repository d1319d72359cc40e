"""Where ingest's outputs go: a port, and its Kafka adapter that waits for every ack."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from aiokafka import AIOKafkaProducer

from shared.kafka import aiokafka_options
from shared.settings import Settings


@dataclass(frozen=True)
class Outbound:
    """One message to publish."""

    topic: str
    key: bytes | None
    value: bytes


class OutputPort(Protocol):
    """Publishes a batch of messages; returns only when the broker acknowledged all of them."""

    async def send_all(self, messages: Sequence[Outbound]) -> None:
        """Raise if any message was not acknowledged."""
        ...


class KafkaOutput:
    """`OutputPort` on a batching aiokafka producer (acks=all)."""

    def __init__(self, settings: Settings, client_id: str) -> None:
        self._producer = AIOKafkaProducer(
            **aiokafka_options(settings),
            client_id=client_id,
            acks="all",
            enable_idempotence=settings.kafka_idempotent_producer,
            linger_ms=5,
            max_batch_size=512 * 1024,
            request_timeout_ms=15_000,
        )

    async def start(self) -> None:
        """Connect."""
        await self._producer.start()

    async def stop(self) -> None:
        """Flush and disconnect."""
        await self._producer.stop()

    async def send_all(self, messages: Sequence[Outbound]) -> None:
        futures = [
            await self._producer.send(message.topic, message.value, key=message.key)
            for message in messages
        ]
        await asyncio.gather(*futures)
