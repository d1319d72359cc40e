"""Whether ingest has read everything published upstream.

Reporting's close clock runs on at wall-clock speed once the pipeline is quiet. Scoring alone
cannot say so: in a backfill, scoring that has caught up with a slower ingest sees no batch
for the idle time and would take the latest event time applied for settled, closing months
whose events ingest has not yet read. So the clock counts as quiet only once ingest's consumer
group has also committed the end of every upstream topic (Kafka's own record of it, not
ingest's store).
"""

import logging
from typing import Protocol

from services.idle import ingest_backlog
from shared import topics
from shared.idle import end_offsets
from shared.settings import Settings

logger = logging.getLogger(__name__)


class Upstream(Protocol):
    """Whether the inputs before scoring are drained."""

    async def idle(self) -> bool:
        """True when nothing published upstream is left for ingest to read."""
        ...


class AlwaysIdle:
    """No stage before scoring (tests that feed scoring directly)."""

    async def idle(self) -> bool:
        return True


class IngestUpstream:
    """Ingest's committed offsets against the end of `insurance.*.v1`."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def idle(self) -> bool:
        try:
            ends = await end_offsets(self._settings, topics.UPSTREAM)
            left = await ingest_backlog(self._settings).backlog(ends)
        except Exception as exc:  # noqa: BLE001 - a broker that cannot say is not idle
            logger.warning("cannot read ingest's backlog; periods wait: %s", exc)
            return False
        return left == 0
