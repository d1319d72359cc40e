"""Scoring's backlog for `kpi wait-idle`: its positions live in MongoDB, not in Kafka, and
records applied whose score updates are not published yet count as left to do."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared import mongo, topics
from shared.kafka import aiokafka_options
from shared.settings import Settings

from .generation_store import ActiveStateStore, MongoGenerations


@dataclass
class StateBacklog:
    """Records on `kpi.events.v1` beyond the offsets committed with the state."""

    settings: Settings
    name: str = "scoring"

    def inputs(self) -> Sequence[str]:
        return (topics.EVENTS,)

    async def backlog(self, ends: Mapping[TopicPartition, int]) -> int:
        mine = [tp for tp in ends if tp.topic == topics.EVENTS]
        client = mongo.create_client(self.settings, app_name="kpi-wait-idle")
        consumer = AIOKafkaConsumer(**aiokafka_options(self.settings))
        await consumer.start()
        try:
            store = ActiveStateStore(MongoGenerations(client, self.settings.mongodb_database))
            stored = await store.positions(
                topics.SCORING_GROUP, {(tp.topic, tp.partition) for tp in mine}
            )
            starts = await consumer.beginning_offsets(mine) if mine else {}
            total = 0
            for tp in mine:
                position = stored.get((tp.topic, tp.partition))
                at = position.next_offset if position is not None else starts[tp]
                total += max(0, ends[tp] - at)
            if total == 0:  # every record applied: are their score updates published too?
                unscored = await store.unscored(topics.SCORING_GROUP, set(stored))
                total = len(unscored.touched) or (1 if unscored.through is not None else 0)
            return total
        finally:
            await consumer.stop()
            await client.close()
