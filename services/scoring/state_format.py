"""Which stored state this scoring can read: a state of the layout before agents' counters
were sharded is refused with what to do, and so is one written by a newer scoring. The format
of the counter and record documents is kept in the state:

- 1: their content nested (`r` of a record document; `buckets`, `touched`, `members` of a
  counter document);
- 2: their content packed into one MessagePack value (`p`, mongo_documents.py).

It is kept in the records collection under `FORMAT_ID` (record document ids always hold a '|').
A scoring that finds a newer format than its own refuses to start, so that an older version
never runs beside a newer one on a state it would misread. Format 1 scorings do not check it:
the upgrade from them stops the old instances first (docs/scoring.md, "Records keep what
counts, packed").
"""

from typing import Any, Final

from pymongo.asynchronous.collection import AsyncCollection

from .mongo_documents import AGENT
from .ports import StateStoreError

STATE_FORMAT: Final = 2
FORMAT_ID: Final = "#format"

_NEWER_FORMAT = (
    "the scoring state in {database} holds documents of format {stored}, newer than this "
    "scoring's {known}: run the scoring version that wrote them (or a later one)"
)
_OLD_LAYOUT = (
    "the scoring state in {database} was written before agents' counters were sharded (an "
    "`agent:` counter document exists); drop the scoring_* collections so that scoring "
    "rebuilds its state from kpi.events.v1 (docs/scoring.md, 'State layout')"
)


async def check_format(
    counters: AsyncCollection[dict[str, Any]], records: AsyncCollection[dict[str, Any]]
) -> None:
    """Raise `StateStoreError` for a state this scoring would misread; otherwise record the
    format it writes (the stored one only ever rises)."""
    database = counters.database.name
    old = await counters.find_one({"_id": {"$gte": AGENT, "$lt": AGENT[:-1] + ";"}}, {"_id": 1})
    if old is not None:
        raise StateStoreError(_OLD_LAYOUT.format(database=database))
    marker = await records.find_one({"_id": FORMAT_ID})
    stored = int(marker.get("state", 1)) if marker is not None else 1
    if stored > STATE_FORMAT:
        raise StateStoreError(
            _NEWER_FORMAT.format(database=database, stored=stored, known=STATE_FORMAT)
        )
    if stored < STATE_FORMAT:
        await records.update_one({"_id": FORMAT_ID}, {"$max": {"state": STATE_FORMAT}}, upsert=True)
