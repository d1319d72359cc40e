"""What a consumer knows of its assigned partitions, for event-time idleness
(shared/watermarks.py): whether records are left to read."""

from typing import Any

PartitionKey = tuple[str, int]


async def backlog_of(consumer: Any) -> dict[PartitionKey, bool]:
    """For each assigned partition, whether the broker holds records the consumer has not
    returned yet: its high watermark (from the last fetch) beyond its position. A partition
    not fetched yet counts as having a backlog, since nothing says it has none."""
    backlog: dict[PartitionKey, bool] = {}
    for tp in consumer.assignment():
        high = consumer.highwater(tp)
        if high is None:
            backlog[(tp.topic, tp.partition)] = True
            continue
        # A fetched partition has a valid position, so this returns at once.
        position = await consumer.position(tp)
        backlog[(tp.topic, tp.partition)] = position < high
    return backlog


async def records_left(consumer: Any) -> int:
    """Records the broker holds beyond what the consumer has returned, over its assigned
    partitions, by the high watermarks of the last fetch (a partition not fetched yet counts
    none: nothing is known of it yet)."""
    left = 0
    for tp in consumer.assignment():
        high = consumer.highwater(tp)
        if high is not None:
            left += max(0, high - await consumer.position(tp))
    return left
