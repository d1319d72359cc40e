"""Whether a consumer still makes progress: pure bookkeeping, no client, no clock of its own.

A partition is *stalled* when records wait on it (its end is past the consumer's position) and
the consumer has processed none of them for `stall_after` seconds. Progress is what the
service's handler finished, not what the client fetched: a handler that keeps failing on the
same batch moves the client's position back and forth, and a fetch that never returns moves
nothing, and both are stalls. The caller feeds the watch with what it sees (`processed` after
each handled batch, `observe` on a timer) and a monotonic time in seconds.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

PartitionKey = tuple[str, int]


@dataclass(frozen=True)
class PartitionProgress:
    """One assigned partition as the last observation saw it."""

    topic: str
    partition: int
    position: int | None  # next offset to process; None while the client does not know it
    end: int | None  # offset after the partition's last record; None before it was learnt
    stalled_for_s: float  # seconds with records waiting and nothing processed; 0 when none wait

    @property
    def lag(self) -> int | None:
        """Records waiting, when both ends are known."""
        if self.position is None or self.end is None:
            return None
        return max(0, self.end - self.position)

    @property
    def waiting(self) -> bool:
        """Records wait (or may: a position still unknown on a partition that has records)."""
        if self.end is None:
            return False
        return self.end > (0 if self.position is None else self.position)


@dataclass(frozen=True)
class Verdict:
    """What one observation concluded for the whole consumer."""

    partitions: tuple[PartitionProgress, ...]
    stall_after_s: float

    @property
    def stalled(self) -> tuple[PartitionProgress, ...]:
        """The partitions stalled for at least `stall_after_s`."""
        return tuple(p for p in self.partitions if p.stalled_for_s >= self.stall_after_s)

    @property
    def longest_stall_s(self) -> float:
        """Seconds the worst partition has waited without progress (0 when none waits)."""
        return max((p.stalled_for_s for p in self.partitions), default=0.0)

    def reason(self) -> str | None:
        """One sentence for `/readyz` naming the stalled partitions; None when none is."""
        stalled = self.stalled
        if not stalled:
            return None
        shown = ", ".join(
            f"{p.topic}[{p.partition}] "
            + (f"{p.lag} records behind" if p.lag is not None else "position unknown")
            for p in stalled[:5]
        )
        more = f" and {len(stalled) - 5} more" if len(stalled) > 5 else ""
        return (
            f"no progress for {self.longest_stall_s:.0f}s (limit {self.stall_after_s:.0f}s, "
            f"KPI_STALL_TIMEOUT_S) with records waiting: {shown}{more}"
        )


@dataclass
class _Partition:
    since: float  # last progress, or when records started to wait
    processed: int | None = None  # next offset after the last record the handler finished
    position: int | None = None
    end: int | None = None


@dataclass
class ProgressWatch:
    """Per-partition progress of one service's consumers."""

    stall_after_s: float
    _partitions: dict[PartitionKey, _Partition] = field(default_factory=dict)

    def processed(self, done: Mapping[PartitionKey, int], now: float) -> None:
        """The handler finished records up to these offsets (the last offset of each partition
        in the batch): progress on each of these partitions."""
        for key, offset in done.items():
            state = self._partitions.get(key)
            if state is None:
                state = self._partitions[key] = _Partition(since=now)
            state.processed = offset + 1
            state.position = offset + 1
            state.since = now

    def started(self, first: Mapping[PartitionKey, int], now: float) -> None:
        """The handler took a batch starting at these offsets. Until it finishes one, this is
        where processing stands (the client's position is already past the batch)."""
        for key, offset in first.items():
            state = self._partitions.get(key)
            if state is None:
                state = self._partitions[key] = _Partition(since=now)
            if state.processed is None:
                state.position = offset if state.position is None else min(state.position, offset)

    def position_of(self, key: PartitionKey) -> int | None:
        """Where processing stands on a partition, as far as the watch knows."""
        state = self._partitions.get(key)
        return None if state is None else state.position

    def observe(
        self,
        positions: Mapping[PartitionKey, int | None],
        ends: Mapping[PartitionKey, int],
        now: float,
    ) -> Verdict:
        """One look at the assigned partitions: `positions` are the client's (None when it does
        not know one yet), `ends` the partitions' true ends (missing when not learnt this time;
        the last one learnt stands). Partitions no longer assigned are forgotten."""
        for key in set(self._partitions) - set(positions):
            del self._partitions[key]
        seen: list[PartitionProgress] = []
        for key in sorted(positions):
            state = self._partitions.get(key)
            if state is None:
                state = self._partitions[key] = _Partition(since=now)
            state.position = _position(state, positions[key])
            state.end = ends.get(key, state.end)
            waiting = state.end is not None and state.end > (state.position or 0)
            if not waiting:
                state.since = now
            seen.append(
                PartitionProgress(
                    topic=key[0],
                    partition=key[1],
                    position=state.position,
                    end=state.end,
                    stalled_for_s=max(0.0, now - state.since) if waiting else 0.0,
                )
            )
        return Verdict(tuple(seen), self.stall_after_s)

    def forget(self, keys: Iterable[PartitionKey]) -> None:
        """Drop what is known of these partitions (revoked)."""
        for key in keys:
            self._partitions.pop(key, None)


def _position(state: _Partition, client: int | None) -> int | None:
    """Where processing stands: what the handler finished, else the start of the batch in hand,
    else where the client was when the partition was first seen. The client's position runs
    ahead of the handler by the batch in hand, so it only counts when it goes back (a seek to
    replay or retry)."""
    known = state.position
    if known is None:
        return client
    if client is not None and client < known:
        return client
    return known
