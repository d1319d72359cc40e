"""The stream's scheduler: the window, local time, seeded draws and the heap of waiting events."""

import heapq
import itertools
import math
import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from .documents import Document
from .profiles import seeded
from .renewal_flow import RenewalFlow
from .sampling import OFFICE, Choice
from .world import World


class Scheduler:
    """A window of the stream: local time, per-origin random streams, and waiting events.

    Events that fall later than their origin wait in a heap (documents, and renewals in progress
    at their next step), which keeps memory flat: about one entry per renewal in progress.
    """

    def __init__(
        self,
        world: World,
        *,
        start: datetime,
        end: datetime,
        zone: ZoneInfo,
    ) -> None:
        self.world = world
        self.seed = world.seed
        self.currency = world.org.currency
        self.zone = zone
        self.start_ts = math.ceil(start.timestamp())
        self.end_ts = math.ceil(end.timestamp())
        self.first_day = start.astimezone(zone).date()
        self.last_day = (end - timedelta(microseconds=1)).astimezone(zone).date()
        self._heap: list[tuple[int, int, Document | RenewalFlow]] = []
        self._sequence = itertools.count()
        self._midnights: dict[int, int] = {}

    # -- time ------------------------------------------------------------------------------------

    def midnight(self, day: date) -> int:
        return self.midnight_of(day.toordinal())

    def midnight_of(self, ordinal: int) -> int:
        """The POSIX second a local day (by its proleptic ordinal) starts at."""
        found = self._midnights.get(ordinal)
        if found is None:
            day = date.fromordinal(ordinal)
            found = int(datetime(day.year, day.month, day.day, tzinfo=self.zone).timestamp())
            self._midnights[ordinal] = found
        return found

    def at(self, day: date, rng: random.Random, hours: Choice = OFFICE) -> int:
        """A time on a local day, in the given hours (weighted), as POSIX seconds."""
        return self.at_ordinal(day.toordinal(), rng, hours)

    def at_ordinal(self, ordinal: int, rng: random.Random, hours: Choice = OFFICE) -> int:
        hour = hours.draw(rng)
        assert isinstance(hour, int)
        return self.midnight_of(ordinal) + hour * 3600 + int(rng.random() * 3600)

    def rng(self, kind: str, key: object) -> random.Random:
        return seeded(f"{self.seed}:{kind}:{key}")

    def push(self, ts: int, document: Document) -> None:
        """Schedule an event; one outside the window is dropped at once."""
        if self.start_ts <= ts < self.end_ts:
            heapq.heappush(self._heap, (ts, next(self._sequence), document))

    def push_flow(self, flow: RenewalFlow) -> None:
        """Schedule a renewal at its first step inside the window.

        When the window starts while the renewal is in progress, its `due` notice is restated
        at the window's start, so that its outcome is never counted without it.
        """
        times = flow.times
        index = 0
        while index < len(times) and times[index] < self.start_ts:
            index += 1
        if index == len(times):
            return
        outcome = len(flow.steps.rstrip("P")) - 1
        if 0 < index <= outcome:
            self.push(self.start_ts, flow.document(0, self.currency))
        if times[index] < self.end_ts:
            flow.index = index
            heapq.heappush(self._heap, (times[index], next(self._sequence), flow))

    def release(self, before: int, day: date) -> Iterator[Document]:
        """Yield the scheduled events before `before` (the end of local `day`), in order."""
        heap = self._heap
        while heap and heap[0][0] < before:
            ts, _, item = heapq.heappop(heap)
            if isinstance(item, RenewalFlow):
                document = item.document(item.index, self.currency)
                item.index += 1
                if item.index < len(item.times) and item.times[item.index] < self.end_ts:
                    heapq.heappush(heap, (item.times[item.index], next(self._sequence), item))
            else:
                document = item
            if self.active(document, day):
                document["occurred_at"] = datetime.fromtimestamp(ts, self.zone).isoformat()
                yield document

    def active(self, document: Document, day: date) -> bool:
        agent_id = document.get("agent_id")
        if isinstance(agent_id, str):
            return self.world.branch_at(agent_id, day) is not None
        return document.get("branch_id") not in self.world.quiet
