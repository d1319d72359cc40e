"""What a consumer knows of its assigned partitions: which have records left, and how many."""

from aiokafka import TopicPartition

from shared.consumer_state import backlog_of, records_left

A, B, C = (TopicPartition("kpi.events.v1", p) for p in range(3))


class FakeConsumer:
    """Assigned partitions with the high watermark of the last fetch and the position."""

    def __init__(self, state: dict[TopicPartition, tuple[int | None, int]]) -> None:
        self._state = state

    def assignment(self) -> set[TopicPartition]:
        return set(self._state)

    def highwater(self, tp: TopicPartition) -> int | None:
        return self._state[tp][0]

    async def position(self, tp: TopicPartition) -> int:
        return self._state[tp][1]


async def test_records_left_add_up_over_the_fetched_partitions() -> None:
    consumer = FakeConsumer({A: (120, 100), B: (50, 50), C: (None, 0)})

    assert await records_left(consumer) == 20
    assert await backlog_of(consumer) == {
        ("kpi.events.v1", 0): True,
        ("kpi.events.v1", 1): False,
        ("kpi.events.v1", 2): True,  # not fetched yet: nothing says it has none
    }
