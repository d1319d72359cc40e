"""Event time (DESIGN §4): what "now" is for lateness and for closing periods.

Two questions, two answers.

**Is this event too late?** Scoring reads `kpi.events.v1`, whose partitions (keyed by agent)
each carry a merge of many upstream source partitions (`insurance.policy.v1:3`, …),
interleaved however ingest happened to read them. A *channel* is one source partition as it
arrives in one input partition: its events come in the source's own order, whatever the
interleaving around them. An event is too late when its own channel's watermark (the latest
event time applied from that channel) is past its month's close plus the allowed lateness, and
it revises a closed month when that watermark is past the month's close
(`services/scoring/domain/batch.py`).
The decision depends on the channel's own sequence alone, so neither the order in which the
broker hands over partitions, nor how records are cut into batches, nor a restart (channel
watermarks are stored with the positions, in the same transaction) changes it: Kafka Streams'
stream time per partition with a grace period, at the finest grain that keeps upstream order.

**Has a period ended?** That needs the low watermark: the time up to which every input has
been read. Each stage keeps one `InputClocks` over its inputs, as Flink combines its inputs'
watermarks: the minimum over the active inputs. An input is active while it has a backlog
(records on the broker not yet read) or has delivered within the idle time (wall clock); an
active input that has delivered nothing yet holds the low watermark back (None); when every
input is idle the low watermark is the greatest of them (Flink's rule for all-idle inputs),
and it never moves back.
- Ingest's inputs are the upstream partitions; each one's watermark is the latest event time
  read from it. Ingest stamps every canonical event with its low watermark as it stood before
  the batch (`KpiEvent.watermark`): every on-time event up to that time has already been
  published, ahead of the stamped one. Watermarks flow with the data, as in Flink.
- Scoring's inputs are the `kpi.events.v1` partitions; each one's watermark is the latest stamp
  read from it. So scoring's low watermark passes a month's end only once every upstream
  partition has been read past it by ingest and everything ingest published before that has
  been applied, however skewed ingest's or scoring's reading of partitions was.

Nothing here reads a clock: the wall-clock time is handed in.
"""

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass
class _Input:
    watermark: datetime | None
    seen_at: datetime
    backlog: bool = True


@dataclass(frozen=True)
class PartitionClock:
    """What one input partition's state says about event time, as last committed."""

    low: datetime | None  # the partition's watermark (latest stamp read); None: none yet
    committed_at: datetime  # wall-clock time of the commit
    backlog: bool = False  # whether it had records left to read then


def combined_low(
    active: Iterable[datetime | None], *, every: Iterable[datetime | None] = ()
) -> datetime | None:
    """The minimum of the active inputs' watermarks (None if one has none yet); when no input
    is active, the greatest of them all."""
    lows = list(active)
    if lows:
        if any(low is None for low in lows):
            return None
        return min(low for low in lows if low is not None)
    known = [low for low in every if low is not None]
    return max(known) if known else None


def product_low(
    partitions: Iterable[PartitionClock], *, now: datetime, idle_after: timedelta
) -> datetime | None:
    """The group's low watermark from every input partition's last commit, for instances
    that share a group: a partition is active if it had a backlog or committed lately."""
    clocks = list(partitions)
    active = [c.low for c in clocks if c.backlog or now - c.committed_at < idle_after]
    return combined_low(active, every=[c.low for c in clocks])


class InputClocks(Generic[K]):
    """The watermarks of one stage's inputs, with backlog- and wall-clock-based idleness."""

    def __init__(self, idle_after: timedelta) -> None:
        self._idle_after = idle_after
        self._inputs: dict[K, _Input] = {}
        self._low: datetime | None = None

    @property
    def idle_after(self) -> timedelta:
        return self._idle_after

    def assign(self, key: K, watermark: datetime | None, now: datetime) -> None:
        """A newly assigned input: active (it may have a backlog) until shown otherwise."""
        self._inputs[key] = _Input(watermark, now)

    def revoke(self, key: K) -> None:
        self._inputs.pop(key, None)

    def keep_only(self, keys: Iterable[K], now: datetime) -> None:
        """Follow an assignment: drop inputs no longer assigned, add new ones."""
        wanted = set(keys)
        for key in set(self._inputs) - wanted:
            del self._inputs[key]
        for key in wanted - set(self._inputs):
            self.assign(key, None, now)

    def observe(self, delivered: Mapping[K, datetime | None], now: datetime) -> None:
        """Inputs that delivered records, with the latest watermark each carried (None if the
        records carried none); a watermark never moves back."""
        for key, watermark in delivered.items():
            state = self._inputs.setdefault(key, _Input(None, now))
            state.seen_at = now
            if watermark is not None and (state.watermark is None or watermark > state.watermark):
                state.watermark = watermark

    def set_backlog(self, backlog: Mapping[K, bool]) -> None:
        """Whether each input has records on the broker that are not read yet."""
        for key, has in backlog.items():
            if key in self._inputs:
                self._inputs[key].backlog = has

    def _active(self, state: _Input, now: datetime) -> bool:
        return state.backlog or now - state.seen_at < self._idle_after

    def watermark(self, key: K) -> datetime | None:
        state = self._inputs.get(key)
        return None if state is None else state.watermark

    def has_backlog(self, key: K) -> bool:
        state = self._inputs.get(key)
        return state is not None and state.backlog

    def peek_low(self, now: datetime) -> datetime | None:
        """What `low(now)` answers, without moving anything (for a reader that only looks)."""
        inputs = list(self._inputs.values())
        active = [s.watermark for s in inputs if self._active(s, now)]
        low = combined_low(active, every=[s.watermark for s in inputs])
        if low is not None and (self._low is None or low > self._low):
            return low
        return self._low

    def low(self, now: datetime) -> datetime | None:
        """The low watermark over every input; it never moves back."""
        self._low = self.peek_low(now)
        return self._low
