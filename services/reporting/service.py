"""Reporting's work: close periods by the clock and publish every entity's scorecard, revise it
when late events change its figures, finalise it after the allowed lateness.

Each tick: read scoring's stream time, ask the close clock what time it is, and for every
closed period that is not final yet, rebuild the scorecards of every entity with a profile
from scoring's state (one bulk read per period). A scorecard is published when it is new
(revision 1, provisional), when its figures differ from the newest revision (revised), and
once more when the allowed lateness has passed (final). Publish, then store, then mark the
period final: a crash in between publishes the same revision again (same `scorecard_id`).
"""

import copy
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from services.scoring.read_model import GroupClock
from shared import topics
from shared.config import OrgChart
from shared.config.org import Level
from shared.kafka_output import Outbound, OutputPort
from shared.kpi.catalogue import KpiCatalogue
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.kpi.republication import republishes
from shared.kpi.targets import team_sizes
from shared.messages.definitions import Definitions, RevisionReason
from shared.messages.score import Score
from shared.messages.scorecard import Scorecard, ScorecardStatus

from .closing import CloseClock, closed_periods, horizon_of
from .domain import Profile, ScorecardConfig, build_scorecard, rank_scorecards
from .inputs import scorecard_inputs
from .store import ScorecardStore
from .upstream import AlwaysIdle, Upstream

logger = logging.getLogger(__name__)

# A new definitions version alone (a new label, a restart on equal figures) is no revision.
_VOLATILE = frozenset(
    {
        "scorecard_id",
        "revision",
        "status",
        "as_of",
        "rank",
        "peers",
        "definitions",
        "revision_reason",
        "previous_definitions",
    }
)


class ScoresReader(Protocol):
    """What reporting reads of scoring's read model (`services/scoring/read_model.py`:
    `ScoreQueries`)."""

    async def clock(self) -> GroupClock | None:
        """Scoring's low watermark and the time of its last commit."""
        ...

    async def period_scores(
        self, entities: Sequence[str], period: str
    ) -> dict[str, list[Score]]: ...


def figures(card: Scorecard) -> dict[str, Any]:
    """What a revision is about: everything but its id, number, status, time and rank."""
    return card.model_dump(exclude=set(_VOLATILE))


def _iso(instant: datetime | None) -> str:
    return "none" if instant is None else instant.isoformat()


def publishable(card: Scorecard, old: Scorecard | None, *, final: bool) -> bool:
    """Whether a rebuilt scorecard is a new revision: the first one, the final one, or one
    whose figures differ from the newest revision (a final scorecard is never revised, but
    for a change of definitions: `revise_definitions`)."""
    if old is None:
        return True
    if old.status is ScorecardStatus.FINAL:
        return False
    return final or figures(card) != figures(old)


def _with_reason(card: Scorecard, old: Scorecard | None) -> Scorecard:
    """A revision for a change of definitions says so, and names the ones it replaces."""
    if old is None:
        return card
    return card.model_copy(
        update={
            "revision_reason": RevisionReason.DEFINITION_CHANGE,
            "previous_definitions": old.definitions,
        }
    )


class ReportingMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.published = Counter(
            "kpi_reporting_scorecards_published",
            "Scorecard revisions published to kpi.scorecards.v1, by status.",
            ["status"],
            registry=registry,
        )
        self.close_seconds = Histogram(
            "kpi_reporting_close_seconds",
            "Time to rebuild one period's scorecards.",
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
            registry=registry,
        )
        self.clock = Gauge(
            "kpi_reporting_close_clock_seconds",
            "The close clock (stream time ticking on while quiet), as a Unix time.",
            registry=registry,
        )
        self.open_periods = Gauge(
            "kpi_reporting_open_periods",
            "Closed periods still within their allowed lateness (revisable).",
            registry=registry,
        )


@dataclass(frozen=True, slots=True)
class CloseStatus:
    """How far reporting has closed the calendar, for the console's pipeline page."""

    clock: datetime | None  # the close clock's last time; None before scoring's first commit
    horizon: str | None  # the first month reporting closes from
    open_periods: int  # closed periods still within their allowed lateness
    final_periods: int


@dataclass(frozen=True, slots=True)
class Scored:
    entity: str
    profile: Profile


class ReportingService:
    """Single instance per deployment: it closes periods by a clock of its own."""

    def __init__(
        self,
        *,
        config: ScorecardConfig,
        catalogue: KpiCatalogue,
        calendar: FiscalCalendar,
        org: OrgChart,
        reader: ScoresReader,
        store: ScorecardStore,
        output: OutputPort,
        metrics: ReportingMetrics,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        idle_after: timedelta = timedelta(seconds=30),
        upstream: Upstream | None = None,
        definitions: Definitions | None = None,
    ) -> None:
        self._config = config
        self._definitions = definitions  # stamped on every scorecard
        self._catalogue = catalogue
        self._calendar = calendar
        self._org = org
        self._reader = reader
        self._store = store
        self._output = output
        self._metrics = metrics
        self._wall = wall
        self._clock = CloseClock(idle_after)
        self._idle_after = idle_after
        self._upstream: Upstream = upstream or AlwaysIdle()
        self._entities = [
            Scored(entity, profile)
            for level in Level
            for entity in org.entities(level)
            if (profile := config.profile_for(entity)) is not None
        ]
        self._team_sizes = team_sizes(org)
        self._latest: dict[str, dict[str, Scorecard]] = {}
        self._final: set[str] | None = None
        # Set by the follower of scoring's state generation (definitions_follow.py): scorecards
        # read across a switch are not published.
        self.before_publish: Callable[[], Awaitable[None]] | None = None

    @property
    def entities(self) -> list[str]:
        return [s.entity for s in self._entities]

    async def close_status(self) -> CloseStatus:
        """The close clock's last time, the horizon and the periods open and final."""
        horizon = await self._store.horizon()
        final = self._final if self._final is not None else await self._store.final_periods()
        now = self._clock.time
        closed = (
            [] if horizon is None or now is None else closed_periods(self._calendar, horizon, now)
        )
        return CloseStatus(now, horizon, len([p for p in closed if p not in final]), len(final))

    async def tick(self) -> list[Scorecard]:
        """Close, revise and finalise what the clock says; the scorecards published."""
        reading = await self._reader.clock()
        wall = self._wall()
        upstream_idle, caught_up = True, False
        if reading is not None and self._may_be_quiet(reading, wall):
            upstream_idle = await self._upstream.idle()  # asked only when it decides
            caught_up = upstream_idle and self._upstream.sees_scoring
        now = self._clock.now(reading, wall, upstream_idle=upstream_idle, caught_up=caught_up)
        if now is None:
            return []
        self._metrics.clock.set(now.timestamp())
        horizon = await self._store.horizon()
        if horizon is None:
            # From the earliest event applied: a backfill closes every month it brought.
            start = reading.earliest if reading is not None and reading.earliest else now
            horizon = horizon_of(self._calendar, start)
            await self._store.set_horizon(horizon)
        if self._final is None:
            self._final = await self._store.final_periods()
        due = [p for p in closed_periods(self._calendar, horizon, now) if p not in self._final]
        self._metrics.open_periods.set(len(due))
        published: list[Scorecard] = []
        for period in due:
            final = now >= self._calendar.lateness_deadline(period)
            if final or period not in self._latest:
                logger.info(
                    "period %s %s: close clock %s (scoring's low watermark %s, latest %s, "
                    "last batch %s; %s)",
                    period,
                    "finalised" if final else "closes",
                    now.isoformat(),
                    _iso(reading.low if reading else None),
                    _iso(reading.latest if reading else None),
                    _iso(reading.committed_at if reading else None),
                    "pipeline quiet, every input applied" if caught_up else "by the low watermark",
                )
            with self._metrics.close_seconds.time():
                published += await self._close(period, final=final)
            if final:
                await self._store.mark_final(period)
                self._final.add(period)
                self._latest.pop(self._calendar.previous_period(period), None)
        return published

    async def revise_definitions(
        self, before: "ReportingService | None" = None, *, since: str | None = None
    ) -> list[Scorecard]:
        """After a switch to a state generation recomputed under new definitions: rebuild the
        scorecards of every period that has some, final ones included, and publish those whose
        figures the change made differ as revisions with the reason `definition_change`,
        naming the definitions of the revision they replace. `before` is the service of the
        previous definitions reading the previous generation: a card is compared with its
        build (without it, with the newest stored revision). `since` (`kpi recompute --from`)
        leaves the final periods that end before it as published (`republishes`). Run twice,
        it publishes nothing more."""
        if self._final is None:
            self._final = await self._store.final_periods()
        final = self._final
        periods = [
            period
            for period in await self._store.periods()
            if republishes(self._calendar, period, since, settled=period in final)
        ]
        published: list[Scorecard] = []
        for period in sorted(periods, key=self._calendar.months_of):
            with self._metrics.close_seconds.time():
                published += await self._close(
                    period, final=period in self._final, definition_change=True, before=before
                )
        logger.info("definitions changed: %d scorecards republished as revisions", len(published))
        return published

    def _may_be_quiet(self, reading: GroupClock, wall: datetime) -> bool:
        """No batch for the idle time; with a backlog flagged at the last batch only when the
        upstream check can tell whether scoring has applied everything since (a partition keeps
        its flag until its next batch, which may never come if nothing is left)."""
        if self._upstream.sees_scoring:
            return replace(reading, backlog=False).quiet(wall, self._idle_after)
        return reading.quiet(wall, self._idle_after)

    async def _newest(self, period: str) -> dict[str, Scorecard]:
        if period not in self._latest:
            self._latest[period] = await self._store.latest_of_period(period)
        return self._latest[period]

    def _in_force(self, period: str) -> tuple[list[Scored], KpiCatalogue]:
        """The entities and their profiles' versions in force in the period, and the KPIs'
        (`effective_from`): an entity whose profile starts later gets no scorecard."""
        if not (self._config.dated or self._catalogue.dated):
            return self._entities, self._catalogue
        month = self._calendar.months_of(period)[0]
        config = self._config.as_of(month)
        scored = [
            Scored(s.entity, profile)
            for s in self._entities
            if (profile := config.profile_for(s.entity)) is not None
        ]
        return scored, self._catalogue.as_of(month)

    async def _cards(self, period: str, *, final: bool) -> list[Scorecard]:
        """Every entity's scorecard of a period as scoring's answers stand now, ranked."""
        readings = await self._reader.period_scores(self.entities, period)
        newest = await self._newest(period)
        previous = await self._newest(self._calendar.previous_period(period))
        now = self._wall()
        entities, catalogue = self._in_force(period)
        return rank_scorecards(
            [
                self._build(
                    s,
                    period,
                    readings.get(s.entity, []),
                    newest.get(s.entity),
                    previous.get(s.entity),
                    final=final,
                    now=now,
                    catalogue=catalogue,
                )
                for s in entities
            ]
        )

    async def _close(
        self,
        period: str,
        *,
        final: bool,
        definition_change: bool = False,
        before: "ReportingService | None" = None,
    ) -> list[Scorecard]:
        cards = await self._cards(period, final=final)
        newest = await self._newest(period)
        if definition_change:
            # What changed is the definitions' doing: the card as the previous generation and
            # definitions give it now (`before`), not the stored one, which events applied
            # after it went final may have left behind.
            baseline = (
                {c.entity: c for c in await before._cards(period, final=final)}
                if before is not None
                else newest
            )
            changed = [
                _with_reason(card, newest.get(card.entity))
                for card in cards
                if newest.get(card.entity) is None
                or figures(card) != figures(baseline.get(card.entity) or newest[card.entity])
            ]
        else:
            changed = [
                card for card in cards if publishable(card, newest.get(card.entity), final=final)
            ]
        if not changed:
            return []
        if self.before_publish is not None:
            await self.before_publish()  # raises when scoring's generation moved meanwhile
        await self._output.send_all(
            [
                Outbound(topics.SCORECARDS, c.entity.encode(), c.model_dump_json().encode())
                for c in changed
            ]
        )
        await self._store.save(changed)
        for card in changed:
            newest[card.entity] = card
            self._metrics.published.labels(card.status.value).inc()
        logger.info(
            "period %s: %d scorecards published (%s)",
            period,
            len(changed),
            "final" if final else "open",
        )
        return changed

    def _build(
        self,
        scored: Scored,
        period: str,
        scores: Sequence[Score],
        old: Scorecard | None,
        previous: Scorecard | None,
        *,
        final: bool,
        now: datetime,
        catalogue: KpiCatalogue,
    ) -> Scorecard:
        if final:
            status = ScorecardStatus.FINAL
        else:
            status = ScorecardStatus.PROVISIONAL if old is None else ScorecardStatus.REVISED
        inputs = scorecard_inputs(
            scored.entity,
            period,
            scores,
            org=self._org,
            team_sizes=self._team_sizes,
            revision=1 if old is None else old.revision + 1,
            status=status,
            as_of=now,
            previous_final_score=previous.final_score if previous is not None else None,
            definitions=self._definitions,
        )
        return build_scorecard(inputs, scored.profile, catalogue)


def reading(service: ReportingService, reader: ScoresReader) -> ReportingService:
    """The same service reading other answers (the previous state generation), to build
    scorecards with, never to publish."""
    twin = copy.copy(service)
    twin._reader = reader
    twin.before_publish = None
    return twin
