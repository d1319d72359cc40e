"""Value types shared by the scoring domain, its store and its service."""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# (entity "agent:A0001", bucket "2024-05" | "2024-05-17" | "FY2024-Q1", component)
CounterKey = tuple[str, str, str]


class Deltas(defaultdict[CounterKey, int]):
    """Counter changes; zero entries are dropped by `nonzero`."""

    def __init__(self, items: Iterable[tuple[CounterKey, int]] = ()) -> None:
        super().__init__(int)
        for key, value in items:
            self[key] += value

    def add(self, other: Mapping[CounterKey, int], sign: int = 1) -> None:
        """Add (or, with sign -1, subtract) another set of changes."""
        for key, value in other.items():
            self[key] += sign * value

    def nonzero(self) -> dict[CounterKey, int]:
        """The changes that are not zero."""
        return {key: value for key, value in self.items() if value}


@dataclass(frozen=True)
class RecordRef:
    """A stateful record (a policy, renewal, case or customer) and the bucket it is kept in.

    `bucket` groups many records of one owner into one stored document, so the database cost
    grows with the documents a batch touches, not with its events.
    """

    kind: str  # "policy" | "renewal" | "case" | "customer"
    record_id: str
    bucket: str  # e.g. "renewal|agent:A0001|2024-06"


# A record's facts: small JSON-able dicts, kept as a set (order never matters).
Fact = Mapping[str, object]
