"""Follows the compacted `kpi.org.v1` topic from its beginning into the `OrgDirectory`.

Start-up reads up to the end offsets seen at start before ingest consumes events, so an
agent's move published before a restart is in force for the first event after it.
"""

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared import topics
from shared.events import ContractViolation, RejectReason
from shared.kafka import aiokafka_options
from shared.kafka_output import Outbound, OutputPort
from shared.messages import DeadLetter
from shared.settings import Settings

from .metrics import IngestMetrics
from .org_directory import OrgChangeRejected, OrgDirectory

logger = logging.getLogger(__name__)


async def _behind(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for partition, end in ends.items():
        if await consumer.position(partition) < end:
            return True
    return False


class OrgFeed:
    """A group-less consumer of `kpi.org.v1` that applies every record."""

    def __init__(
        self,
        settings: Settings,
        directory: OrgDirectory,
        metrics: IngestMetrics,
        dead_letters: OutputPort,
    ) -> None:
        self._settings = settings
        self._directory = directory
        self._metrics = metrics
        self._dead_letters = dead_letters
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def _apply(self, record: ConsumerRecord) -> None:
        key = record.key.decode() if record.key else ""
        try:
            self._directory.apply(key, record.value)
        except OrgChangeRejected as exc:
            self._metrics.org_changes.labels("refused").inc()
            # A refused change is bad input like any other: kept, with its reason, not dropped.
            letter = DeadLetter.from_violation(
                record.value or b"",
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                violation=ContractViolation(RejectReason.SCHEMA_VIOLATION, str(exc)),
            )
            await self._dead_letters.send_all(
                [Outbound(topics.DEADLETTER, key.encode(), letter.model_dump_json().encode())]
            )
            logger.warning(
                "refused an organisation change: %s",
                exc,
                extra={
                    "topic": record.topic,
                    "partition": record.partition,
                    "offset": record.offset,
                },
            )
        else:
            self._metrics.org_changes.labels("applied").inc()

    async def start(self) -> None:
        """Catch up with everything published so far, then follow in the background."""
        consumer = AIOKafkaConsumer(
            **aiokafka_options(self._settings), enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        self._consumer = consumer
        partitions = consumer.partitions_for_topic(topics.ORG) or set()
        assigned = [TopicPartition(topics.ORG, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned) if assigned else {}
        while await _behind(consumer, ends):
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    await self._apply(record)
        self._task = asyncio.create_task(self._follow(consumer), name="org-feed")

    async def _follow(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    await self._apply(record)

    async def stop(self) -> None:
        """Stop following."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()
