"""Where a service's outputs go: a port, and its Kafka adapter that waits for every ack.

The adapter appends a batch of outputs to aiokafka record batches, one per partition, instead
of calling `send` once per message: `AIOKafkaProducer.send` costs about 15 µs of Python a
message (a future, the partitioner and the accumulator for each), a third of ingest's CPU when
it published 10,000 records a batch and most of the time scoring took to publish its score
updates. aiokafka's batch API (`create_batch`, `send_batch`) takes the same records for a
fraction. Each record goes to the partition `send` would choose, with the same default
partitioner (murmur2 of the key), so a canonical event still goes to its agent's partition.

It translates aiokafka's errors (`shared/transient.py`): `OutputUnavailable` when the broker
may take the messages on a later try, `OutputError` when it never will (a message too large,
an unknown topic)."""

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner

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


MAX_BATCH_BYTES = 512 * 1024
_MAX_PLACED = 100_000  # keys whose partition is remembered; more starts afresh


class KafkaOutput:
    """`OutputPort` on aiokafka record batches (acks=all); returns once all are acknowledged."""

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
        self._partitioner = DefaultPartitioner()
        # (topic, key) → partition, for the partitions the topic had: murmur2 is pure Python,
        # and a stream has a few thousand keys (agents, entities).
        self._placed: dict[tuple[str, bytes], int] = {}
        self._placed_for: dict[str, list[int]] = {}

    async def start(self) -> None:
        """Connect."""
        settings = self._settings
        producer = self._producer_factory(
            **aiokafka_options(settings),
            client_id=self._client_id,
            acks="all",
            enable_idempotence=settings.kafka_idempotent_producer,
            linger_ms=5,
            max_batch_size=MAX_BATCH_BYTES,
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
            await asyncio.gather(*await self._send(producer, messages))
        except KafkaError as exc:
            raise output_failure(exc, f"cannot publish {_describe(messages)}") from exc

    async def _send(
        self, producer: AIOKafkaProducer, messages: Sequence[Outbound]
    ) -> list["asyncio.Future[Any]"]:
        """Append each message to its partition's open batch; send a batch when it is full and
        every batch at the end. Returns the futures of the sends."""
        partitions: dict[str, tuple[list[int], list[int]]] = {}
        batches: dict[tuple[str, int], Any] = {}
        futures: list[asyncio.Future[Any]] = []
        for message in messages:
            topic = message.topic
            known = partitions.get(topic)
            if known is None:
                every = sorted(await producer.partitions_for(topic))
                known = partitions[topic] = (every, every)
                if self._placed_for.get(topic) != every or len(self._placed) > _MAX_PLACED:
                    self._placed = {k: p for k, p in self._placed.items() if k[0] != topic}
                    self._placed_for[topic] = every
            partition = self._partition(topic, message.key, known)
            batch = batches.get((topic, partition))
            if batch is None:
                batch = batches[topic, partition] = producer.create_batch()
            if batch.append(key=message.key, value=message.value, timestamp=None) is not None:
                continue
            # Full: send it and start the next with this message.
            del batches[topic, partition]
            futures.append(await _flush(producer, batch, topic, partition))
            batch = batches[topic, partition] = producer.create_batch()
            if batch.append(key=message.key, value=message.value, timestamp=None) is None:
                # Larger than a batch on its own: `send` takes it, or refuses it with the
                # broker's own error (a message too large).
                del batches[topic, partition]
                futures.append(
                    await producer.send(topic, message.value, key=message.key, partition=partition)
                )
        for (topic, partition), batch in batches.items():
            futures.append(await _flush(producer, batch, topic, partition))
        return futures

    def _partition(
        self, topic: str, key: bytes | None, partitions: tuple[list[int], list[int]]
    ) -> int:
        """The partition `send` would choose; remembered per key."""
        if key is None:
            return int(self._partitioner(key, *partitions))
        placed = self._placed.get((topic, key))
        if placed is None:
            placed = self._placed[topic, key] = int(self._partitioner(key, *partitions))
        return placed


async def _flush(producer: AIOKafkaProducer, batch: Any, topic: str, partition: int) -> Any:
    batch.close()
    return await producer.send_batch(batch, topic, partition=partition)


def _describe(messages: Sequence[Outbound]) -> str:
    """`4 messages (3 to kpi.events.v1, 1 to kpi.deadletter.v1)`."""
    counts: dict[str, int] = {}
    for message in messages:
        counts[message.topic] = counts.get(message.topic, 0) + 1
    parts = [f"{count} to {topic}" for topic, count in counts.items()]
    return f"{len(messages)} messages ({', '.join(parts)})"
