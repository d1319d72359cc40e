"""Whether everything published before scoring's state has been applied.

Reporting's close clock runs on at wall-clock speed once the pipeline is quiet. Scoring's own
clock cannot say so alone:
- in a backfill, scoring that has caught up with a slower ingest sees no batch for the idle
  time and would take the latest event time applied for settled, closing months whose events
  ingest has not yet read;
- a scoring that cannot commit (its database is down, or its batches keep failing) also sees
  no batch for the idle time, with records of `kpi.events.v1` still unapplied: it is stuck,
  not quiet. Taken for quiet, it let reporting finalise every month of a replay from a partial
  state after a 30 s database outage (docs/resilience.md).
So the clock counts as quiet only once ingest's consumer group has committed the end of every
upstream topic (Kafka's own record of it, not ingest's store) and scoring's positions, from
its published read model, have reached the end of every partition of `kpi.events.v1`.
"""

import logging
from collections.abc import Mapping
from typing import Protocol

from aiokafka import TopicPartition

from services.idle import ingest_backlog
from services.scoring.read_model import ScoreQueries
from shared import topics
from shared.idle import end_offsets
from shared.settings import Settings

logger = logging.getLogger(__name__)


class Upstream(Protocol):
    """Whether the inputs before scoring are drained."""

    # Whether `idle` also checks that scoring has applied every record of `kpi.events.v1`: then
    # scoring's stored backlog flag, which a partition keeps from its last batch until its next
    # one, does not hold the close clock once `idle` says so.
    sees_scoring: bool

    async def idle(self) -> bool:
        """True when nothing published upstream is left for ingest to read."""
        ...


class AlwaysIdle:
    """No stage before scoring (tests that feed scoring directly)."""

    sees_scoring = False

    async def idle(self) -> bool:
        return True


def unapplied(ends: Mapping[TopicPartition, int], positions: Mapping[tuple[str, int], int]) -> int:
    """Records of `kpi.events.v1` between scoring's positions and the partitions' ends; a
    partition scoring has never committed counts from offset 0 (the topic is kept for ever)."""
    return sum(
        max(0, end - positions.get((tp.topic, tp.partition), 0))
        for tp, end in ends.items()
        if tp.topic == topics.EVENTS
    )


class PipelineUpstream:
    """Ingest's committed offsets against the end of `insurance.*.v1`, then scoring's
    positions (its read model) against the end of `kpi.events.v1`."""

    sees_scoring = True

    def __init__(self, settings: Settings, scores: ScoreQueries) -> None:
        self._settings = settings
        self._scores = scores
        self._idle = False  # what the last answer was (a change to quiet is logged)

    async def idle(self) -> bool:
        try:
            ends = await end_offsets(self._settings, topics.UPSTREAM)
            if await ingest_backlog(self._settings).backlog(ends):
                self._idle = False
                return False
            # Read after ingest's: every event ingest had published by then is in these ends.
            events = await end_offsets(self._settings, (topics.EVENTS,))
            positions = await self._scores.positions({(tp.topic, tp.partition) for tp in events})
        except Exception as exc:  # noqa: BLE001 - a pipeline that cannot say is not idle
            logger.warning("cannot read ingest's or scoring's backlog; periods wait: %s", exc)
            self._idle = False
            return False
        left = unapplied(events, positions)
        if left:
            logger.info("scoring has %d records of %s to apply; periods wait", left, topics.EVENTS)
        elif not self._idle:
            logger.info(
                "pipeline quiet: ingest at the end of %d upstream partitions, scoring at the "
                "end of %d partitions of %s (%d records)",
                len(ends),
                len(events),
                topics.EVENTS,
                sum(events.values()),
            )
        self._idle = left == 0
        return self._idle
