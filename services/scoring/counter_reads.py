"""Counter documents read once for one computation of scores (`scores.py`)."""

from collections.abc import Awaitable, Callable, Collection
from typing import Any

Reader = Callable[[Collection[str]], Awaitable[dict[str, Any]]]  # counter documents by id


class ReadOnce:
    """Counter documents read at most once for one computation of scores: the later periods,
    the openings and the periods' own years ask for overlapping fiscal years (the current one
    twice, the next one up to three times), and each read of an agents' shard document costs
    the database its whole size."""

    def __init__(self, read: Reader) -> None:
        self._read = read
        self._asked: set[str] = set()
        self._found: dict[str, Any] = {}

    async def __call__(self, doc_ids: Collection[str]) -> dict[str, Any]:
        missing = set(doc_ids) - self._asked
        if missing:
            self._found.update(await self._read(missing))
            self._asked |= missing
        return {doc_id: self._found[doc_id] for doc_id in doc_ids if doc_id in self._found}
