"""Where a service's outputs go: a port, and its Kafka adapter that waits for every ack."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from aiokafka import AIOKafkaProducer

from . import topics
from .kafka import aiokafka_options
from .messages.deadletter import DeadLetter
from .settings import Settings


@dataclass(frozen=True)
class Outbound:
    """One message to publish."""

    topic: str
    key: bytes | None
    value: bytes


def dead_letter_outbound(letter: DeadLetter) -> Outbound:
    """The record for kpi.deadletter.v1, keyed by the topic the rejected input came from."""
    return Outbound(
        topics.DEADLETTER, letter.source_topic.encode(), letter.model_dump_json().encode()
    )


class OutputPort(Protocol):
    """Publishes a batch of messages; returns only when the broker acknowledged all of them."""

    async def send_all(self, messages: Sequence[Outbound]) -> None:
        """Raise if any message was not acknowledged."""
        ...


class KafkaOutput:
    """`OutputPort` on a batching aiokafka producer (acks=all)."""

    def __init__(self, settings: Settings, client_id: str) -> None:
        # The producer is made in `start`: aiokafka needs a running event loop to build one,
        # and the composition root runs before the loop does (`kpi serve`).
        self._settings = settings
        self._client_id = client_id
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        """Connect."""
        settings = self._settings
        producer = AIOKafkaProducer(
            **aiokafka_options(settings),
            client_id=self._client_id,
            acks="all",
            enable_idempotence=settings.kafka_idempotent_producer,
            linger_ms=5,
            max_batch_size=512 * 1024,
            request_timeout_ms=15_000,
        )
        await producer.start()
        self._producer = producer

    async def stop(self) -> None:
        """Flush and disconnect."""
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def send_all(self, messages: Sequence[Outbound]) -> None:
        producer = self._producer
        if producer is None:
            raise RuntimeError("KafkaOutput.send_all called before start()")
        futures = [
            await producer.send(message.topic, message.value, key=message.key)
            for message in messages
        ]
        await asyncio.gather(*futures)
