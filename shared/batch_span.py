"""Where a batch was read, for the log lines of its failures: the offsets of every partition
it spans and the event ids it carries, where known."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

SHOWN_EVENT_IDS: Final = 20


@dataclass(frozen=True)
class BatchSpan:
    """A batch (or one record) by topic, partition and offset range."""

    what: str  # "ingest batch", "scoring record", "alerts tick"
    ranges: tuple[tuple[str, int, int, int], ...] = ()  # (topic, partition, first, last)
    event_ids: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, what: str, positions: Iterable[tuple[str, int, int]], event_ids: Iterable[str] = ()
    ) -> "BatchSpan":
        """From the (topic, partition, offset) of every record, in any order."""
        spans: dict[tuple[str, int], tuple[int, int]] = {}
        for topic, partition, offset in positions:
            first, last = spans.get((topic, partition), (offset, offset))
            spans[(topic, partition)] = (min(first, offset), max(last, offset))
        ranges = tuple((t, p, first, last) for (t, p), (first, last) in sorted(spans.items()))
        return cls(what, ranges, tuple(event_ids))

    def offsets(self) -> str:
        """`insurance.policy.v1[0]@10..19, insurance.policy.v1[3]@7` (empty: no records)."""
        return ", ".join(
            f"{topic}[{partition}]@{first}" + (f"..{last}" if last != first else "")
            for topic, partition, first, last in self.ranges
        )

    def __str__(self) -> str:
        where = self.offsets()
        return f"{self.what} {where}" if where else self.what

    def log_fields(self) -> dict[str, object]:
        """`extra=` fields: topic, partition and offset when the span is one partition (the
        first offset), the offset ranges always, and the first event ids."""
        fields: dict[str, object] = {"offsets": self.offsets()}
        if len(self.ranges) == 1:
            topic, partition, first, last = self.ranges[0]
            fields |= {"topic": topic, "partition": partition, "offset": first}
            if last != first:
                fields["last_offset"] = last
        if self.event_ids:
            fields["event_ids"] = list(self.event_ids[:SHOWN_EVENT_IDS])
            if len(self.event_ids) == 1:
                fields["event_id"] = self.event_ids[0]
        return fields
