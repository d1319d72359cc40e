"""Where a service's outputs go: a port, and its Kafka adapter that waits for every ack.

The adapter translates aiokafka's errors (`shared/transient.py`): `OutputUnavailable` when the
broker may take the messages on a later try, `OutputError` when it never will (a message too
large, an unknown topic)."""

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from . import topics
from .errors import OutputError
from .kafka import aiokafka_options
from .messages.deadletter import DeadLetter
from .settings import Settings
from .transient import output_failure


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
        """Raise `OutputError` (`OutputUnavailable` when worth retrying) if any message was
        not acknowledged."""
        ...


class KafkaOutput:
    """`OutputPort` on a batching aiokafka producer (acks=all)."""

    def __init__(
        self,
        settings: Settings,
        client_id: str,
        producer_factory: Callable[..., AIOKafkaProducer] = AIOKafkaProducer,
    ) -> None:
        # The producer is made in `start`: aiokafka needs a running event loop to build one,
        # and the composition root runs before the loop does (`kpi serve`).
        self._settings = settings
        self._client_id = client_id
        self._producer_factory = producer_factory  # tests hand in a fake producer
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        """Connect."""
        settings = self._settings
        producer = self._producer_factory(
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
            raise OutputError("KafkaOutput.send_all called before start()")
        try:
            futures = [
                await producer.send(message.topic, message.value, key=message.key)
                for message in messages
            ]
            await asyncio.gather(*futures)
        except KafkaError as exc:
            raise output_failure(exc, f"cannot publish {_describe(messages)}") from exc


def _describe(messages: Sequence[Outbound]) -> str:
    """`4 messages (3 to kpi.events.v1, 1 to kpi.deadletter.v1)`."""
    counts: dict[str, int] = {}
    for message in messages:
        counts[message.topic] = counts.get(message.topic, 0) + 1
    parts = [f"{count} to {topic}" for topic, count in counts.items()]
    return f"{len(messages)} messages ({', '.join(parts)})"
