"""Between FastStream's batch subscriber and the scoring service: decoding records, seeking to
the positions stored with the state on assignment and after a batch that was out of step."""

import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

from shared.events.canonical_reader import decode_kpi_event
from shared.kafka import RawBatch

from .domain.batch import InputRecord
from .service import HandleResult, PartitionKey, ScoringService

logger = logging.getLogger(__name__)


def decode_records(batch: RawBatch) -> list[InputRecord]:
    """The batch as canonical events; a record that is not one (an empty or missing value
    included) keeps its place with no event, to be dead-lettered (ingest writes this topic, so
    it should not happen). Keys and headers are not read.

    Read by msgspec into the same `KpiEvent` that `KpiEvent.model_validate_json` gives, built
    without validating it again (shared/events/fast_canonical.py); a record that reads unusually
    is left to the model, which decides."""
    return [
        InputRecord(
            r.topic, r.partition, r.offset, decode_kpi_event(r.value or b""), r.value or b""
        )
        for r in batch
    ]


async def seek(consumer: AIOKafkaConsumer, targets: dict[PartitionKey, int | None]) -> None:
    """Move the consumer to where the state stands."""
    for (topic, partition), offset in targets.items():
        tp = TopicPartition(topic, partition)
        if offset is None:
            await consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, offset)


class StateRebalanceListener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Seeks newly assigned partitions to the offsets stored in MongoDB.

    aiokafka awaits this before it fetches for the new assignment, so no record is read from a
    committed Kafka offset; scoring never commits offsets to Kafka.
    """

    def __init__(
        self,
        service: Callable[[], ScoringService],
        consumer: Callable[[], AIOKafkaConsumer | None],
    ) -> None:
        self._service = service  # the instance in use: a generation switch replaces it
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self._service().revoke({(tp.topic, tp.partition) for tp in revoked})

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        targets = await self._service().assign({(tp.topic, tp.partition) for tp in assigned})
        consumer = self._consumer()
        if consumer is not None:
            await seek(consumer, targets)
        logger.info("assigned %d partitions; positions loaded from the state", len(assigned))


async def after_batch(consumer: AIOKafkaConsumer, result: HandleResult) -> None:
    """Apply the seeks a batch asked for."""
    if result.seek:
        await seek(consumer, result.seek)
