"""Reporting follows scoring's state generation: after `kpi recompute` switches it, the
scorecards are rebuilt under the new definitions and the changed ones republished.

Each tick first asks scoring's read model which generation answers. The generation the
scorecards were last built from is kept in reporting's state, so a restart notices a switch
made while it was down. On a change, the service is rebuilt with the definitions read again
from `KPI_CONFIG_DIR` (the files the new generation was built with), every period with
scorecards is rebuilt, final ones included, and each scorecard whose figures changed is
published as a revision with the reason `definition_change` (`ReportingService
.revise_definitions`); then the new generation is recorded. A crash in between rebuilds again
at the next start and finds nothing more to publish. The API, the console (KPI names,
profiles) and scoring's read model as reporting sums it follow at the same moment: the rebuild
replaces the definitions they read (`reads.InForce`). A recomputation `--from PERIOD` leaves
the final periods that end before PERIOD as published: scoring's read model says from which
period (`ScoreQueries.republished_from`), as it says which generation answers.
"""

import logging
from collections.abc import Callable
from typing import Protocol

from shared.errors import KpiError
from shared.messages.scorecard import Scorecard

from .service import ReportingService
from .store import ScorecardStore

logger = logging.getLogger(__name__)


class GenerationMoved(KpiError):
    """Scoring's generation changed while scorecards were being built: they may mix two
    generations' answers, so they are not published; the next tick follows the switch."""


class GenerationSource(Protocol):
    """Which scoring state generation answers (`ScoreQueries.generation`), and from which
    period a move to it republishes (`ScoreQueries.republished_from`)."""

    async def generation(self) -> str: ...

    async def republished_from(self, since: str) -> str | None: ...


class DefinitionsFollower:
    """Reporting's tick, with the rebuild after a generation switch in front of it."""

    def __init__(
        self,
        service: ReportingService,
        *,
        scores: GenerationSource,
        store: ScorecardStore,
        rebuild: Callable[[], ReportingService],
        previous: Callable[[ReportingService, str], ReportingService] | None = None,
    ) -> None:
        self._scores = scores
        self._store = store
        self._rebuild = rebuild
        # The running service reading another generation (the one it was built for), to tell
        # what a switch changed from what events changed after a scorecard went final.
        self._previous = previous
        self._running = False  # whether a tick went through since this process started
        self._built_from: str | None = None
        self._answering: str | None = None  # the generation the service's reads are of
        self.service = self._guarded(service)

    def _guarded(self, service: ReportingService) -> ReportingService:
        service.before_publish = self._still_answering
        return service

    async def _still_answering(self) -> None:
        if self._answering is None:
            return
        active = await self._scores.generation()
        if active != self._answering:
            raise GenerationMoved(
                f"scoring's state generation moved from {self._answering} to {active} while "
                "scorecards were built; they are built again from it"
            )

    async def tick(self) -> list[Scorecard]:
        """Follow a switch if there was one, then close, revise and finalise as usual."""
        try:
            return await self._tick()
        except GenerationMoved as exc:
            logger.warning("%s", exc)
            return []

    async def _tick(self) -> list[Scorecard]:
        active = await self._scores.generation()
        self._answering = active
        if self._built_from is None:
            self._built_from = await self._store.generation()
            if self._built_from is None:  # the first start with generations: nothing to redo
                await self._store.set_generation(active)
                self._built_from = active
        revised: list[Scorecard] = []
        if active != self._built_from:
            logger.warning(
                "scoring's state generation changed from %s to %s: rebuilding every scorecard "
                "under the definitions in KPI_CONFIG_DIR",
                self._built_from,
                active,
            )
            # Switched while this process ran: the service in hand has the previous files.
            # Switched while it was down: those are gone, and the stored cards are the baseline.
            before = (
                self._previous(self.service, self._built_from)
                if self._previous is not None and self._running
                else None
            )
            since = await self._scores.republished_from(self._built_from)
            if since is not None:
                logger.warning(
                    "the recomputation republishes from %s: final periods that end before it "
                    "stay as published",
                    since,
                )
            self.service = self._guarded(self._rebuild())
            revised = await self.service.revise_definitions(before, since=since)
            await self._store.set_generation(active)
            self._built_from = active
        published = revised + await self.service.tick()
        self._running = True
        return published
