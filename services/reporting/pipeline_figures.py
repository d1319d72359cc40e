"""The pipeline page's figures from samples of the services' offsets: consumer lag per service,
topic and partition, and records consumed per second. Pure: `pipeline_sampler.py` samples.

A service's position on a partition is the offset of the next record it will process: its
committed offset for ingest and alerts (Kafka keeps them), the position scoring keeps with its
state (scoring's read model), and the offset reporting has read up to on `kpi.deadletter.v1`.
Lag is the partition's end minus that position. A partition the service has committed nothing
on counts from the partition's start, as the service will read it.

Events per second are the positions' advance between two samples over the time between them,
summed over the service's partitions: what the service has finished (committed), not what it
has fetched, the same figure whatever the service does inside a batch.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from shared import topics

Partition = tuple[str, int]
# Each service's input topics, in the pipeline's order.
INPUTS: Final[Mapping[str, tuple[str, ...]]] = {
    "ingest": topics.UPSTREAM,
    "scoring": (topics.EVENTS,),
    "alerts": (topics.SCORES, topics.EVENTS),
    "reporting": (topics.DEADLETTER,),
}
# The consumer groups that commit their positions to Kafka.
KAFKA_GROUPS: Final[Mapping[str, str]] = {
    "ingest": topics.INGEST_GROUP,
    "alerts": topics.ALERTS_GROUP,
}
RATE_WINDOW: Final = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Bounds:
    """A partition's first offset and its end (the offset after its last record)."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class OffsetSnapshot:
    """The partitions' bounds and every service's positions, read at one time."""

    at: datetime
    bounds: Mapping[Partition, Bounds]
    positions: Mapping[str, Mapping[Partition, int]]

    def position(self, service: str, partition: Partition) -> int | None:
        """The service's position on the partition; its start when it committed none; None for
        a partition the snapshot has no bounds of."""
        bounds = self.bounds.get(partition)
        if bounds is None:
            return None
        return self.positions.get(service, {}).get(partition, bounds.start)


@dataclass(frozen=True, slots=True)
class PartitionLag:
    service: str
    topic: str
    partition: int
    position: int
    end: int

    @property
    def lag(self) -> int:
        return max(0, self.end - self.position)


def partitions_of(snapshot: OffsetSnapshot, service: str) -> list[Partition]:
    """The service's input partitions the snapshot has bounds of, by topic and number."""
    wanted = INPUTS[service]
    return sorted(
        (p for p in snapshot.bounds if p[0] in wanted), key=lambda p: (wanted.index(p[0]), p[1])
    )


def partition_lags(snapshot: OffsetSnapshot) -> list[PartitionLag]:
    """Every service's lag on each of its input partitions, in the pipeline's order."""
    lags = []
    for service in INPUTS:
        for partition in partitions_of(snapshot, service):
            position = snapshot.position(service, partition)
            assert position is not None  # the partition has bounds
            end = snapshot.bounds[partition].end
            lags.append(PartitionLag(service, partition[0], partition[1], position, end))
    return lags


def service_lags(lags: Sequence[PartitionLag]) -> dict[str, int]:
    """Each service's lag summed over its partitions (every service of `INPUTS` present)."""
    total = dict.fromkeys(INPUTS, 0)
    for lag in lags:
        total[lag.service] += lag.lag
    return total


@dataclass(frozen=True, slots=True)
class Rate:
    """Records a service consumed per second over `seconds`."""

    per_second: float
    seconds: float


def rates(
    snapshots: Sequence[OffsetSnapshot], window: timedelta = RATE_WINDOW
) -> dict[str, Rate | None]:
    """Each service's records per second between the oldest snapshot within `window` of the
    newest and the newest (None with fewer than two). A position that moved back (a reset
    group, a partition re-created) counts as no progress on that partition."""
    found: dict[str, Rate | None] = dict.fromkeys(INPUTS)
    if len(snapshots) < 2:
        return found
    newest = snapshots[-1]
    oldest = next(s for s in snapshots if s.at >= newest.at - window)
    seconds = (newest.at - oldest.at).total_seconds()
    if oldest is newest or seconds <= 0:
        return found
    for service in INPUTS:
        moved = 0
        for partition in partitions_of(newest, service):
            before, after = oldest.position(service, partition), newest.position(service, partition)
            if before is not None and after is not None:
                moved += max(0, after - before)
        found[service] = Rate(per_second=moved / seconds, seconds=seconds)
    return found
