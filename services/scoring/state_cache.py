"""Scoring's state documents kept in memory between batches, so that a batch does not read
back from the database what the batch before it wrote.

Each counter and record document carries a revision (`rev`), raised by one at every write. The
cache holds a document as its BSON bytes with the revision it had when this instance wrote or
read it. The store replaces a cached document only where the stored revision is still the
cached one: another instance's write in between makes the replacement match nothing, and the
batch is retried with fresh reads (`mongo_store.py`). So the cache is a hint about what is
stored, never a second source of truth.

Bounded by the BSON bytes it holds (`KPI_SCORING_CACHE_MB`); the least recently used
documents go first. Pure: no database, no clock.
"""

from collections import OrderedDict
from typing import NamedTuple

CacheKey = tuple[str, str]  # (collection, _id)


class Cached(NamedTuple):
    """A document as this instance last wrote or read it."""

    revision: int
    raw: bytes  # its BSON


class StateCache:
    """Least recently used documents by BSON size, at most `max_bytes` of them in all (0: none)."""

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must be ≥ 0")
        self._max_bytes = max_bytes
        self._entries: OrderedDict[CacheKey, Cached] = OrderedDict()
        self._bytes = 0

    @property
    def max_bytes(self) -> int:
        """The bound on the BSON bytes held."""
        return self._max_bytes

    @property
    def held_bytes(self) -> int:
        """The BSON bytes held now."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def get(self, key: CacheKey) -> Cached | None:
        """The cached document, now the most recently used; None when not held."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: CacheKey, revision: int, raw: bytes) -> None:
        """Hold a document at `revision` (an older revision than the one held is ignored), then
        drop the least recently used until the bound holds again. A document larger than the
        whole bound is not held."""
        held = self._entries.get(key)
        if held is not None and held.revision > revision:
            return
        self.discard(key)
        if len(raw) > self._max_bytes:
            return
        self._entries[key] = Cached(revision, raw)
        self._bytes += len(raw)
        while self._bytes > self._max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= len(evicted.raw)

    def discard(self, key: CacheKey) -> None:
        """Forget one document."""
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry.raw)

    def clear(self) -> None:
        """Forget everything (a failed commit, revoked partitions)."""
        self._entries.clear()
        self._bytes = 0
