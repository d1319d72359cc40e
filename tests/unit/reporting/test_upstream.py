"""What reporting counts as scoring's records left to apply before the close clock may run on."""

from aiokafka import TopicPartition
from hypothesis import given
from hypothesis import strategies as st

from services.reporting.upstream import unapplied
from shared import topics

EVENTS_0 = TopicPartition(topics.EVENTS, 0)
EVENTS_1 = TopicPartition(topics.EVENTS, 1)


def test_a_scoring_that_has_applied_every_record_has_none_left() -> None:
    ends = {EVENTS_0: 120, EVENTS_1: 80}
    assert unapplied(ends, {(topics.EVENTS, 0): 120, (topics.EVENTS, 1): 80}) == 0


def test_a_scoring_stuck_behind_the_end_has_the_difference_left() -> None:
    # The database outage of docs/resilience.md: scoring could not commit, so its positions
    # stayed behind what ingest had published; the pipeline is not quiet.
    ends = {EVENTS_0: 120, EVENTS_1: 80}
    assert unapplied(ends, {(topics.EVENTS, 0): 100, (topics.EVENTS, 1): 80}) == 20


def test_a_partition_scoring_never_committed_counts_from_its_start() -> None:
    assert unapplied({EVENTS_0: 7, EVENTS_1: 0}, {}) == 7


def test_other_topics_are_not_scorings_to_apply() -> None:
    upstream = TopicPartition(topics.UPSTREAM[0], 0)
    assert unapplied({upstream: 50, EVENTS_0: 3}, {(topics.EVENTS, 0): 3}) == 0


@given(
    st.dictionaries(
        st.integers(0, 11), st.tuples(st.integers(0, 10_000), st.integers(0, 10_000)), max_size=12
    )
)
def test_none_left_exactly_when_every_position_reaches_its_end(
    partitions: dict[int, tuple[int, int]],
) -> None:
    ends = {TopicPartition(topics.EVENTS, p): end for p, (end, _) in partitions.items()}
    positions = {(topics.EVENTS, p): at for p, (_, at) in partitions.items()}
    left = unapplied(ends, positions)
    assert (left == 0) == all(at >= end for end, at in partitions.values())
    assert left == sum(max(0, end - at) for end, at in partitions.values())
