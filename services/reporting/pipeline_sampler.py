"""Samples the services' offsets on a timer for the pipeline page (`pipeline_figures.py`): the
partitions' bounds and the Kafka groups' commits through `BrokerOffsets`, scoring's positions
through its read model, reporting's own from the dead letters it has read. The last minute's
samples are kept in memory; a restart starts afresh (events per second come with the second
sample)."""

import logging
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Final

from services.scoring.read_model import ScoreQueries
from shared import topics
from shared.errors import KpiError

from .offsets import BrokerOffsets
from .pipeline_figures import INPUTS, KAFKA_GROUPS, RATE_WINDOW, OffsetSnapshot, Partition

logger = logging.getLogger(__name__)
SAMPLE_EVERY_S: Final = 10.0


class OffsetSampler:
    """Keeps the samples of the last `window` (and the one just before it)."""

    def __init__(
        self,
        offsets: BrokerOffsets,
        scores: ScoreQueries,
        own_positions: Callable[[], Mapping[Partition, int]],
        *,
        window: timedelta = RATE_WINDOW,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._offsets = offsets
        self._scores = scores
        self._own = own_positions
        self._window = window
        self._wall = wall
        self._snapshots: deque[OffsetSnapshot] = deque()
        self.error: str | None = None  # why the last sample failed, until one succeeds

    @property
    def snapshots(self) -> list[OffsetSnapshot]:
        """Oldest first."""
        return list(self._snapshots)

    async def sample(self, at: datetime | None = None) -> None:
        """Read every position and bound once (taken as read `at`, by default now); a broker or
        database that does not answer leaves the samples as they were, and says why."""
        wanted = sorted({topic for inputs in INPUTS.values() for topic in inputs})
        try:
            bounds = await self._offsets.bounds(wanted)
            positions = {
                service: await self._offsets.committed(
                    group, [p for p in bounds if p[0] in INPUTS[service]]
                )
                for service, group in KAFKA_GROUPS.items()
            }
            events = [p for p in bounds if p[0] == topics.EVENTS]
            positions["scoring"] = await self._scores.positions(events)
            positions["reporting"] = {p: o for p, o in self._own().items() if p in bounds}
        except KpiError as exc:
            self.error = str(exc)
            logger.warning("cannot sample the pipeline's offsets: %s", exc)
            return
        self.error = None
        now = at or self._wall()
        self._snapshots.append(OffsetSnapshot(at=now, bounds=bounds, positions=positions))
        # Keep one sample older than the window, so a rate always spans it once it can.
        while len(self._snapshots) > 2 and self._snapshots[1].at <= now - self._window:
            self._snapshots.popleft()
