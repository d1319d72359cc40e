"""What the alerts service has published, read back from `kpi.alerts.v1` at start.

`PublishedAlerts` is the port (the service's start reconciles its store with it:
`domain/published.py`); `KafkaPublishedAlerts` reads the topic from its beginning to its true
end with a consumer of no group. The topic holds only alert messages (a few a day per
entity at most), so reading it whole at start costs seconds even after years; `retention.ms`
may bound it (deploy/).
"""

import asyncio
import logging
from typing import Final, Protocol

from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError

from shared import topics
from shared.idle import end_offsets
from shared.kafka import aiokafka_options
from shared.messages.alert import Alert
from shared.settings import Settings

logger = logging.getLogger(__name__)
READ_TIMEOUT_S: Final = 120.0


class PublishedUnreadable(Exception):
    """The topic could not be read to its end in time; the service does not start."""


class PublishedAlerts(Protocol):
    async def read(self) -> list[Alert]:
        """Every alert message on the topic, in each partition's order."""
        ...


class NothingPublished:
    """No topic to read back (tests that hand in their own output)."""

    async def read(self) -> list[Alert]:
        return []


class KafkaPublishedAlerts:
    def __init__(self, settings: Settings, topic: str = topics.ALERTS) -> None:
        self._settings = settings
        self._topic = topic

    async def read(self) -> list[Alert]:
        ends = {
            tp: end
            for tp, end in (await end_offsets(self._settings, (self._topic,))).items()
            if end > 0
        }
        if not ends:
            return []
        consumer = AIOKafkaConsumer(**aiokafka_options(self._settings), enable_auto_commit=False)
        await consumer.start()
        alerts: list[Alert] = []
        try:
            consumer.assign(list(ends))
            await consumer.seek_to_beginning(*ends)
            left = dict(ends)
            deadline = asyncio.get_running_loop().time() + READ_TIMEOUT_S
            while left:
                if asyncio.get_running_loop().time() > deadline:
                    raise PublishedUnreadable(
                        f"{self._topic} not read back to its end in {READ_TIMEOUT_S:.0f} s: "
                        f"{sorted((tp.partition, end) for tp, end in left.items())} left"
                    )
                batches = await consumer.getmany(*left, timeout_ms=1_000, max_records=10_000)
                for tp, records in batches.items():
                    for record in records:
                        if record.offset >= ends[tp]:
                            continue
                        try:
                            alerts.append(Alert.model_validate_json(record.value or b""))
                        except ValidationError as exc:
                            logger.warning(
                                "%s[%d]@%d is not an alert, skipped: %s",
                                tp.topic,
                                tp.partition,
                                record.offset,
                                exc.errors()[:1],
                            )
                    if records and records[-1].offset + 1 >= ends[tp]:
                        left.pop(tp, None)
        finally:
            await consumer.stop()
        return alerts
