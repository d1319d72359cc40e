"""Reporting's read side: what `/api/v1` answers and the console draws, from the published read
models (scoring's `ScoreQueries`, the alerts service's `AlertQueries`), reporting's own
scorecard store, the dead-letter counts it keeps, and the configuration.

Every method checks its parameters first: a malformed one raises `BadParameter` (422), an
entity that is not in the organisation or a scorecard that does not exist `NotFound` (404).
Nothing here writes.
"""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from services.alerts.read_model import AlertQueries
from services.scoring.read_model import ScoreQueries, StateScoreQueries
from shared.config import OrgChart
from shared.config.org import Level, entity_key, parse_entity
from shared.kpi.config import KpiConfig, load_kpi_config
from shared.kpi.fiscal_calendar import is_window, parse_period, parse_window
from shared.messages.alert import AlertSeverity, AlertState
from shared.messages.score import Score
from shared.messages.scorecard import Grade
from shared.progress import BatchTimings
from shared.progress_board import ProgressQueries
from shared.service.http import BadParameter, NotFound

from .api import models as m
from .deadletters import DeadLetterSummary
from .domain import ScorecardConfig, load_profiles
from .names import display_name
from .pages import scorecard_page
from .pipeline_report import pipeline_figures
from .pipeline_sampler import OffsetSampler
from .redaction import public_evidence, public_message
from .render import ScorecardPage
from .render.page import Language
from .service import CloseStatus
from .store import ScorecardStore

REDRIVE_COMMAND = "kpi deadletters redrive --reason {reason} --dry-run"
_LEVELS = ", ".join(level.value for level in Level)
# The pipeline's figures as only Prometheus keeps them (each service's /metrics, with history
# and every quantile), with the query that shows them.
PROMETHEUS_ONLY: tuple[m.PrometheusFigure, ...] = (
    m.PrometheusFigure(
        figure="consumer lag (records)",
        service="ingest, scoring, alerts, reporting",
        query="sum by (service) (kpi_consumer_lag_records)",
    ),
    m.PrometheusFigure(
        figure="consumer stalled (seconds without progress)",
        service="ingest, scoring, alerts, reporting",
        query="max by (service) (kpi_consumer_no_progress_seconds)",
    ),
    m.PrometheusFigure(
        figure="events/s accepted",
        service="ingest",
        query="sum(rate(kpi_ingest_accepted_total[5m]))",
    ),
    m.PrometheusFigure(
        figure="events/s applied",
        service="scoring",
        query="sum(rate(kpi_scoring_events_applied_total[5m]))",
    ),
    m.PrometheusFigure(
        figure="batch latency p95 (s)",
        service="scoring",
        query="histogram_quantile(0.95, sum by (le) (rate(kpi_scoring_batch_seconds_bucket[5m])))",
    ),
    m.PrometheusFigure(
        figure="batch latency p95 (s)",
        service="ingest",
        query="histogram_quantile(0.95, sum by (le) (rate(kpi_ingest_batch_seconds_bucket[5m])))",
    ),
    m.PrometheusFigure(
        figure="batch latency p95 (s)",
        service="alerts",
        query="histogram_quantile(0.95, sum by (le) (rate(kpi_alerts_batch_seconds_bucket[5m])))",
    ),
)


def score_out(score: Score) -> m.ScoreOut:
    """A score in DESIGN §11's shape."""
    return m.ScoreOut.model_validate(score.model_dump(exclude={"schema_version", "score_id"}))


def kpi_value(score: Score) -> m.KpiValue:
    return m.KpiValue(
        kpi=score.kpi, value=score.value, target=score.target, attainment=score.attainment
    )


@dataclass
class InForce:
    """The definitions the API and console answer with: the KPI configuration (catalogue,
    labels, targets, calendar, org) and the scorecard profiles. Replaced, both at once, when
    reporting follows a generation switch (definitions_follow.py), so the console's KPI
    names and profiles are the new generation's without a restart."""

    config: KpiConfig
    profiles: ScorecardConfig
    # Scoring's read model on MongoDB, which sums scores with the definitions in force too
    # (None: a reader handed in, as tests do).
    reader: StateScoreQueries | None = None

    def reload(self, config_dir: Path) -> None:
        """The definitions in the files now (checked), for the reads and the reader."""
        config = load_kpi_config(config_dir)
        profiles = load_profiles(config_dir, config.catalogue, org=config.org)
        if self.reader is not None:
            self.reader.redefine(config)
        self.config, self.profiles = config, profiles


@dataclass(frozen=True)
class ReportingReads:
    """The read models and configuration the API and console read from."""

    in_force: InForce
    scores: ScoreQueries
    alerts: AlertQueries
    scorecards: ScorecardStore
    letters: DeadLetterSummary
    close_status: Callable[[], Awaitable[CloseStatus]]
    progress: ProgressQueries  # what ingest, scoring and alerts publish of their batches
    sampler: OffsetSampler  # the services' offsets, sampled on a timer
    own_batches: BatchTimings  # reporting's own batches (of kpi.deadletter.v1)
    wall: Callable[[], datetime] = lambda: datetime.now(UTC)

    @property
    def config(self) -> KpiConfig:
        return self.in_force.config

    @property
    def profiles(self) -> ScorecardConfig:
        return self.in_force.profiles

    @property
    def org(self) -> OrgChart:
        return self.config.org

    # -- parameters -------------------------------------------------------------------------

    def entity(self, entity: str) -> Level:
        """The level of a ``LEVEL:ID`` entity of the organisation."""
        try:
            level, _ = parse_entity(entity)
        except ValueError as exc:
            raise BadParameter(
                f"entity {entity!r} is not LEVEL:ID with LEVEL one of {_LEVELS}, e.g. branch:B01"
            ) from exc
        if not self.org.contains(entity):
            raise NotFound(f"entity {entity!r} is not in the organisation (org.yaml)")
        return level

    def period(self, period: str, *, windows: bool = True) -> str:
        """A calendar period's canonical name, or a rolling window (when `windows`)."""
        try:
            if windows and period.startswith("R"):
                parse_window(period)
                return period
            return parse_period(period).name
        except ValueError as exc:
            also = " or a rolling window (R30D)" if windows else ""
            raise BadParameter(f"period: {exc}{also}") from exc

    def kpi(self, kpi: str) -> str:
        if kpi not in self.config.catalogue:
            known = ", ".join(self.config.catalogue.ids)
            raise BadParameter(f"kpi {kpi!r} is not in the catalogue; known: {known}")
        return kpi

    # -- time -------------------------------------------------------------------------------

    async def stream_time(self) -> datetime | None:
        """The latest event time scoring applied (what scores are as of)."""
        clock = await self.scores.clock()
        return None if clock is None else clock.latest

    async def current_month(self) -> str:
        """The month of the latest event applied, or of the wall clock before any."""
        return self.config.calendar.month_of(await self.stream_time() or self.wall())

    async def day_in(self, period: str) -> date:
        """The day whose assignments place agents in teams for `period`: its last day, or
        the stream time's day when the period is still running."""
        now = await self.stream_time() or self.wall()
        calendar = self.config.calendar
        if is_window(period):
            return date.fromisoformat(calendar.day_of(now))
        _, end = calendar.period_bounds(period)
        last = date.fromisoformat(calendar.day_of(min(now, end)))
        start, _ = calendar.period_bounds(period)
        return max(last, date.fromisoformat(calendar.day_of(start)))

    # -- scores -----------------------------------------------------------------------------

    async def kpis(self) -> m.KpiList:
        return m.KpiList(
            kpis=[
                m.Kpi(
                    kpi=k.id,
                    names=m.Names(en=k.label("en"), zh=k.label("zh"), ja=k.label("ja")),
                    unit=str(k.unit),
                    direction=str(k.direction),
                )
                for k in self.config.catalogue
            ]
        )

    async def many_scores(self, entities: Sequence[str], period: str) -> dict[str, list[Score]]:
        """Every KPI of many entities for a period or window, read in bulk (a window only for
        the entities scoring keeps windows for: branch level and above)."""
        if is_window(period):
            return await self.scores.window_scores(entities, period)
        return await self.scores.period_scores(entities, period)

    async def entity_scores(
        self, entity: str, period: str, language: Language = "en", kpi: str | None = None
    ) -> m.EntityScores:
        level = self.entity(entity)
        period = self.period(period)
        wanted = None if kpi is None else self.kpi(kpi)
        found = await self.scores.current_scores(entity, period, wanted)
        return m.EntityScores(
            entity=entity,
            name=display_name(self.org, entity, language),
            level=level,
            period=period,
            as_of=await self.stream_time(),
            scores=[score_out(s) for s in found],
        )

    def teams_on(self, day: date) -> dict[str, tuple[str, ...]]:
        """Every team's agents (``team:ID`` → ``agent:ID``s) as assigned on `day`."""
        members: dict[str, list[str]] = {}
        for path in self.org.agents_on(day):
            if path.team is not None and path.agent is not None:
                team = entity_key(Level.TEAM, path.team)
                members.setdefault(team, []).append(entity_key(Level.AGENT, path.agent))
        return {team: tuple(agents) for team, agents in members.items()}

    def children(
        self, entity: str, day: date, teams: Mapping[str, tuple[str, ...]] | None = None
    ) -> tuple[str, ...]:
        """The entities one level below: a team's agents as assigned on `day` (from `teams`,
        `teams_on(day)`, when the caller has it already)."""
        if parse_entity(entity)[0] is Level.TEAM:
            return (teams if teams is not None else self.teams_on(day)).get(entity, ())
        return self.org.children(entity)

    def parent(self, entity: str, day: date) -> str | None:
        """The entity one level up: an agent's team as assigned on `day` (else its latest)."""
        level, entity_id = parse_entity(entity)
        org = self.org
        match level:
            case Level.COMPANY:
                return None
            case Level.REGION:
                return entity_key(Level.COMPANY, org.company)
            case Level.BRANCH:
                branch = org.branch(entity_id)
                return None if branch is None else entity_key(Level.REGION, branch.region)
            case Level.TEAM:
                team = org.team(entity_id)
                return None if team is None else entity_key(Level.BRANCH, team.branch)
            case Level.AGENT:
                assignments = org.assignments(entity_id)
                chosen = org.assignment_at(entity_id, day) or (
                    assignments[-1] if assignments else None
                )
                return None if chosen is None else entity_key(Level.TEAM, chosen.team)

    def path(self, entity: str, day: date) -> list[str]:
        """The entities from the company down to `entity`."""
        found = [entity]
        while (up := self.parent(found[-1], day)) is not None:
            found.append(up)
        return list(reversed(found))

    async def hierarchy(
        self,
        period: str | None,
        *,
        root: str | None = None,
        depth: int = 4,
        kpis: Sequence[str] = (),
        language: Language = "en",
    ) -> m.Hierarchy:
        root = root or entity_key(Level.COMPANY, self.org.company)
        self.entity(root)
        period = self.period(period) if period else await self.current_month()
        wanted = {self.kpi(k) for k in kpis}
        day = await self.day_in(period)
        teams = self.teams_on(day)
        levels: list[list[str]] = [[root]]
        for _ in range(depth):
            below = [c for e in levels[-1] for c in self.children(e, day, teams)]
            if not below:
                break
            levels.append(below)
        everyone = [e for level in levels for e in level]
        found = await self.many_scores(everyone, period)

        def node(entity: str, remaining: int) -> m.HierarchyNode:
            values = [kpi_value(s) for s in found.get(entity, []) if not wanted or s.kpi in wanted]
            below = self.children(entity, day, teams) if remaining > 0 else ()
            return m.HierarchyNode(
                entity=entity,
                name=display_name(self.org, entity, language),
                level=parse_entity(entity)[0],
                values=values,
                children=[node(c, remaining - 1) for c in below],
            )

        return m.Hierarchy(
            period=period, as_of=await self.stream_time(), root=node(root, len(levels) - 1)
        )

    # -- scorecards -------------------------------------------------------------------------

    async def scorecard_periods(self) -> m.ScorecardPeriods:
        calendar = self.config.calendar
        periods = await self.scorecards.periods()
        ordered = sorted(periods, key=lambda p: (calendar.period_close(p), -len(p)), reverse=True)
        return m.ScorecardPeriods(periods=ordered)

    async def period_scorecards(
        self, period: str | None, language: Language = "en"
    ) -> m.PeriodScorecards:
        """The scorecards of a closed period (default: the one closed last)."""
        if period is None:
            periods = (await self.scorecard_periods()).periods
            if not periods:
                raise NotFound("no period has closed yet: scorecards come when a month closes")
            period = periods[0]
        period = self.period(period, windows=False)
        cards = await self.scorecards.latest_of_period(period)
        summaries = [
            m.ScorecardSummary(
                entity=card.entity,
                name=display_name(self.org, card.entity, language),
                level=parse_entity(card.entity)[0],
                period=card.period,
                profile=card.profile,
                revision=card.revision,
                status=card.status,
                final_score=card.final_score,
                grade=card.grade,
                grade_capped=card.grade_capped,
                vetoes=[
                    m.VetoOut(kpi=v.kpi, reason=getattr(v.reasons, language)) for v in card.vetoes
                ],
                rank=card.rank,
                peers=card.peers,
            )
            for card in cards.values()
        ]
        order = {level: i for i, level in enumerate(Level)}
        summaries.sort(key=lambda s: (order[s.level], s.rank or 10**9, s.entity))
        grades = dict.fromkeys(Grade, 0)
        for summary in summaries:
            grades[summary.grade] += 1
        return m.PeriodScorecards(
            period=period,
            grades=grades,
            vetoed=sum(1 for s in summaries if s.vetoes),
            scorecards=summaries,
        )

    async def scorecard(self, entity: str, period: str, language: Language) -> ScorecardPage:
        """The page of the newest revision of an entity's scorecard."""
        self.entity(entity)
        period = self.period(period, windows=False)
        config = self.config
        page = await scorecard_page(
            self.scorecards,
            config=self.profiles,
            catalogue=config.catalogue,
            calendar=config.calendar,
            entity=entity,
            period=period,
            language=language,
            org=self.org,
        )
        if page is None:
            raise NotFound(
                f"no scorecard for {entity} in {period} yet: it comes when {period} closes, "
                "for entities with a scorecard profile"
            )
        return page

    # -- alerts, dead letters, pipeline -----------------------------------------------------

    async def list_alerts(
        self,
        state: AlertState | None = None,
        severity: AlertSeverity | None = None,
        language: Language = "en",
    ) -> m.AlertList:
        every = await self.alerts.alerts()
        chosen = [
            a
            for a in every
            if (state is None or a.state is state) and (severity is None or a.severity is severity)
        ]
        return m.AlertList(
            firing=sum(1 for a in every if a.state is AlertState.FIRING),
            resolved=sum(1 for a in every if a.state is AlertState.RESOLVED),
            alerts=[
                m.AlertOut(
                    alert_id=a.alert_id,
                    rule=a.rule,
                    severity=a.severity,
                    state=a.state,
                    entity=a.entity,
                    name=display_name(self.org, a.entity, language),
                    kpi=a.kpi,
                    period=a.period,
                    value=a.value,
                    threshold=a.threshold,
                    message=public_message(getattr(a.messages, language), a.evidence),
                    runbook_url=a.runbook_url,
                    started_at=a.started_at,
                    resolved_at=a.resolved_at,
                    evidence=public_evidence(a.evidence),
                )
                for a in chosen
            ],
        )

    def dead_letters(self) -> m.DeadLetterReport:
        counts = self.letters.counts()
        return m.DeadLetterReport(
            total=counts.total,
            unreadable=counts.unreadable,
            by_reason=counts.by_reason,
            by_source_topic=counts.by_source_topic,
            by_reason_and_source=[
                m.ReasonSourceCount(reason=reason, source_topic=source, count=count)
                for (reason, source), count in counts.by_reason_and_source.items()
            ],
            by_hour=[m.HourCount(hour=h, by_reason=c) for h, c in counts.by_hour.items()],
            samples=[
                m.DeadLetterSampleOut(
                    reason=s.reason,
                    detail=s.detail,
                    source_topic=s.source_topic,
                    partition=s.partition,
                    offset=s.offset,
                    received_at=s.received_at,
                )
                for s in counts.samples
            ],
            latest_received_at=counts.latest_received_at,
            redrive_command=REDRIVE_COMMAND.format(reason="REASON"),
        )

    async def pipeline(self) -> m.Pipeline:
        clock = await self.scores.clock()
        status = await self.close_status()
        firing = await self.alerts.alerts(AlertState.FIRING)
        letters = self.letters.counts()
        published = {p.service: p for p in await self.progress.progress()}
        published["reporting"] = self.own_batches.progress(self.wall())
        snapshots = self.sampler.snapshots
        services, partitions = pipeline_figures(
            snapshots,
            published,
            {"scoring": clock.low if clock else None, "reporting": status.clock},
        )
        return m.Pipeline(
            services=services,
            partitions=partitions,
            sampled_at=snapshots[-1].at if snapshots else None,
            offsets_error=self.sampler.error,
            scoring=None
            if clock is None
            else m.ScoringClock(
                low_watermark=clock.low,
                latest_event=clock.latest,
                earliest_event=clock.earliest,
                last_commit=clock.committed_at,
                backlog=clock.backlog,
            ),
            reporting=m.CloseClock(
                close_clock=status.clock,
                horizon=status.horizon,
                open_periods=status.open_periods,
                final_periods=status.final_periods,
            ),
            alerts_firing=len(firing),
            dead_letters=letters.total,
            latest_dead_letter=letters.latest_received_at,
            prometheus=list(PROMETHEUS_ONLY),
        )
