"""Event time, per channel (DESIGN §4): what "now" is for lateness and for closing periods.

Scoring reads `kpi.events.v1`, whose partitions (keyed by agent) each carry a merge of many
upstream source partitions (`insurance.policy.v1:3`, …), interleaved however ingest happened
to read them. A **channel** is one source partition as it arrives in one input partition:
its events come in the source's own order, whatever the interleaving around them.

- **Lateness is judged per channel.** An event is too late when its own channel's watermark
  (the latest event time applied from that channel) is past the event's month close plus the
  allowed lateness; it revises a closed month when that watermark is past the month's close.
  The decision depends on the channel's own sequence alone, so neither the order in which the
  broker hands over partitions, nor how records are cut into batches, nor a restart (the
  watermarks are stored with the positions, in the same transaction) changes it. This is Kafka
  Streams' stream time per partition with a grace period, at the finest grain that keeps the
  upstream order.
- **The low watermark closes periods.** It is the minimum over the active channels, as Flink
  combines its inputs' watermarks; a channel with no record for the idle time (wall clock)
  stops holding it back and counts again when it delivers, and when every channel is idle the
  low watermark is the greatest of them (Flink's rule for all-idle inputs). It never moves
  back. A newly assigned partition holds it for one idle time, so that channels that have not
  delivered yet get a chance to.

Nothing here reads a clock: the wall-clock time is handed in.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

PartitionKey = tuple[str, int]
# The hold of a newly assigned partition: a channel with no time yet, idle after one idle time.
_HOLD = ""


@dataclass
class _Channel:
    watermark: datetime | None
    seen_at: datetime


@dataclass(frozen=True)
class PartitionClock:
    """What one input partition's state says about event time, as last committed."""

    low: datetime | None  # its channels' low watermark; None while it holds
    committed_at: datetime  # wall-clock time of the commit


def combined_low(
    lows: Iterable[datetime | None], *, all_idle_high: Iterable[datetime | None] = ()
) -> datetime | None:
    """The minimum of the active inputs' watermarks (None if any has none yet); when there is
    no active input, the greatest of the idle ones."""
    active = list(lows)
    if active:
        if any(low is None for low in active):
            return None
        return min(low for low in active if low is not None)
    idle = [low for low in all_idle_high if low is not None]
    return max(idle) if idle else None


def product_low(
    partitions: Iterable[PartitionClock], *, now: datetime, idle_after: timedelta
) -> datetime | None:
    """The group's low watermark from every input partition's last commit: a partition that
    has not committed for the idle time is idle."""
    clocks = list(partitions)
    active = [c.low for c in clocks if now - c.committed_at < idle_after]
    return combined_low(active, all_idle_high=[c.low for c in clocks])


class ChannelClocks:
    """The channels of the input partitions this instance owns, with wall-clock idleness."""

    def __init__(self, idle_after: timedelta) -> None:
        self._idle_after = idle_after
        self._channels: dict[PartitionKey, dict[str, _Channel]] = {}
        self._low: datetime | None = None

    @property
    def idle_after(self) -> timedelta:
        return self._idle_after

    def assign(
        self, partition: PartitionKey, watermarks: Mapping[str, datetime], now: datetime
    ) -> None:
        """Restore a partition's channels from the state, and hold it for one idle time."""
        channels = {source: _Channel(mark, now) for source, mark in watermarks.items()}
        channels[_HOLD] = _Channel(None, now)
        self._channels[partition] = channels

    def revoke(self, partition: PartitionKey) -> None:
        self._channels.pop(partition, None)

    def observe(
        self,
        partition: PartitionKey,
        watermarks: Mapping[str, datetime],
        delivered: Iterable[str],
        now: datetime,
    ) -> None:
        """A committed batch: the partition's channel watermarks after it, and the channels
        that delivered a record in it."""
        channels = self._channels.setdefault(partition, {})
        for source in delivered:
            channel = channels.setdefault(source, _Channel(None, now))
            channel.seen_at = now
        for source, mark in watermarks.items():
            channels.setdefault(source, _Channel(None, now - self._idle_after)).watermark = mark

    def partition_low(self, partition: PartitionKey, now: datetime) -> datetime | None:
        """The partition's low watermark: the minimum over its active channels."""
        channels = self._channels.get(partition, {}).values()
        active = [c.watermark for c in channels if now - c.seen_at < self._idle_after]
        return combined_low(active, all_idle_high=[c.watermark for c in channels])

    def low(self, now: datetime) -> datetime | None:
        """This instance's low watermark over every channel it owns; it never moves back."""
        channels = [c for by_source in self._channels.values() for c in by_source.values()]
        active = [c.watermark for c in channels if now - c.seen_at < self._idle_after]
        low = combined_low(active, all_idle_high=[c.watermark for c in channels])
        if low is not None and (self._low is None or low > self._low):
            self._low = low
        return self._low

    def high(self) -> datetime | None:
        """The latest event time applied from any channel."""
        marks = [
            c.watermark
            for channels in self._channels.values()
            for c in channels.values()
            if c.watermark is not None
        ]
        return max(marks) if marks else None
