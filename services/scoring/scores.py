"""Score updates after a batch: one message per changed (entity, KPI, period), coalesced.

Values are computed from the counter documents as they stand after the batch's increments
(read inside its transaction), so they are the true totals even when several instances add to
the same team, branch or company documents.
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from shared import topics
from shared.config import OrgChart
from shared.kafka_output import Outbound
from shared.kpi.catalogue import KpiCatalogue
from shared.kpi.components import PREFIX_SUMMED, C
from shared.kpi.effective import rule_month
from shared.kpi.fiscal_calendar import FiscalCalendar, is_window, parse_period
from shared.kpi.kpi_definition import DenominatorSource, KpiDefinition
from shared.kpi.kpi_values import Formula, attainment
from shared.kpi.targets import Targets
from shared.messages import Definitions, Score
from shared.messages.definitions import DefinitionsFields, definitions_fields
from shared.messages.score import ScoreFields, encode_score

from .domain.batch import BatchOutcome
from .ports import StateStore

logger = logging.getLogger(__name__)
# Targets kept at most, per (KPI, entity, kind of period or rolling window): about 1,100
# entities × 20 KPIs × 4 kinds and the windows, whatever the history. Kept per period before,
# with the plans, they grew about 97 MiB a year of history (tests/unit/scoring/
# test_score_builder_memory.py); the bound stays as a guard.
CACHED_FACTS: Final = 200_000
HISTORY_YEARS = 5  # prefix sums (in force, existing customers) look this far back
YIELD_EVERY = 500  # (entity, period) pairs computed between two turns of the event loop


def is_day(bucket: str) -> bool:
    """A day bucket (`2024-05-17`), kept for rolling windows, not published per batch."""
    return len(bucket) == 10


def is_month(bucket: str) -> bool:
    """A month bucket (`2024-05`)."""
    return len(bucket) == 7 and bucket[4] == "-"


def _buckets(document: Mapping[str, Any] | None) -> Mapping[str, Mapping[str, int]]:
    if not document:
        return {}
    buckets: Mapping[str, Mapping[str, int]] = document.get("buckets", {})
    return buckets


def _previous_year(fiscal_year: str, back: int) -> str:
    return f"FY{int(fiscal_year[2:]) - back}"


@dataclass
class PeriodTotals:
    """The components of one entity over one period."""

    totals: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    prefix: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    revision: int = 1


def period_totals(
    period: str,
    document: Mapping[str, Any] | None,
    opening: Mapping[str, int],
    calendar: FiscalCalendar,
) -> PeriodTotals:
    """Sum a period's buckets out of its fiscal-year document."""
    buckets = _buckets(document)
    months = calendar.months_of(period)
    result = PeriodTotals()
    result.prefix.update(opening)
    for bucket, components in buckets.items():
        if is_day(bucket):  # kept for rolling windows; in no period and before none
            continue
        in_period = bucket in months or bucket == period
        before = is_month(bucket) and bucket < months[0]
        for component, value in components.items():
            if component == C.REVISIONS:
                if in_period:
                    result.revision += value
            elif component in PREFIX_SUMMED:
                if before:
                    result.prefix[component] += value
                elif in_period:
                    result.totals[component] += value
            elif in_period:
                result.totals[component] += value
    return result


class ScoreBuilder:
    """Computes the score messages of a batch."""

    def __init__(
        self,
        *,
        catalogue: KpiCatalogue,
        calendar: FiscalCalendar,
        org: OrgChart,
        targets: Targets,
        store: StateStore,
        on_failure: Callable[[], None] = lambda: None,
        definitions: Definitions | None = None,
    ) -> None:
        """Openings (the years before a period's) are read afresh for every publication: a
        year past its lateness by stream time can still change (a channel behind, another
        instance's batch), and keeping them was wrong twice (docs/resilience.md, defects)."""
        self._catalogue = catalogue
        self._definitions = definitions_fields(definitions)  # stamped on every score
        self._dated = catalogue.dated  # undated: one rule for every period, no look-up
        self._calendar = calendar
        self._org = org
        self._targets = targets
        self._store = store
        by_component: dict[str, set[str]] = defaultdict(set)
        for kpi in catalogue.entries:  # every version: each period's rule reads its components
            for component in kpi.components:
                by_component[component].add(kpi.id)
        self._ids_by_component = {c: frozenset(ids) for c, ids in by_component.items()}
        self._kpis = {kpi.id: catalogue[kpi.id] for kpi in catalogue}
        self._month_periods: dict[str, tuple[str, ...]] = {}
        self._first_months: dict[str, str] = {}
        self._fiscal_years: dict[str, str] = {}  # period → its fiscal year
        self._uses_prefix = {
            kpi.id for kpi in catalogue.entries if any(c in PREFIX_SUMMED for c in kpi.components)
        }
        # Facts that never change while the process runs; computing them for every score was
        # most of a batch's time. A target depends on the kind of period (or the window), not
        # on which month or year: kept per kind, they do not grow with the history scored
        # (emptied at CACHED_FACTS all the same). Plans come from the yearly plans `Targets`
        # keeps per entity and fiscal year.
        self._periods: dict[str, tuple[object, bool, int]] = {}  # `_period_facts`
        self._formulas: dict[tuple[str, str | None], Formula] = {}
        self._targets_cache: dict[tuple[str, str, object, str | None], Decimal | None] = {}
        self._headcounts: dict[str, int | None] = {}
        self._on_failure = on_failure  # a score that could not be computed

    @property
    def calendar(self) -> FiscalCalendar:
        """The fiscal calendar scores are computed on."""
        return self._calendar

    @property
    def org(self) -> OrgChart:
        """The organisation scores roll up through."""
        return self._org

    @property
    def catalogue(self) -> KpiCatalogue:
        """The KPIs scores are computed for."""
        return self._catalogue

    def changed(self, outcome: BatchOutcome) -> dict[tuple[str, str], set[str]]:
        """(entity, period) → the KPIs whose components the batch changed there.

        A prefix-summed component (a stock: policies in force, existing customers) is read as
        its sum before a period starts, so its change in a month changes no period that month
        is in, only the periods that start after it. Its KPIs are put on the month alone, which
        tells `fields` to add those later periods (`_with_later_periods`); on the month's
        quarter, half and year they would be sent again unchanged (a third of the score
        updates of a live stream were such copies: tests/unit/scoring/test_stock_changes.py).
        """
        changed: dict[tuple[str, str], set[str]] = defaultdict(set)
        for entity, bucket, component in outcome.deltas:
            if is_day(bucket) or component == C.REVISIONS:
                continue
            kpis = self._ids_by_component.get(component)
            if not kpis:
                continue
            if not is_month(bucket) or component in PREFIX_SUMMED:
                changed[(entity, bucket)].update(kpis)
                continue
            for period in self._periods_of(bucket):
                changed[(entity, period)].update(kpis)
        return changed

    def _periods_of(self, month: str) -> tuple[str, ...]:
        periods = self._month_periods.get(month)
        if periods is None:
            periods = self._month_periods[month] = self._calendar.periods_of_month(month)
        return periods

    def _starts(self, period: str) -> str:
        """A period's first month."""
        first = self._first_months.get(period)
        if first is None:
            first = self._first_months[period] = self._calendar.months_of(period)[0]
        return first

    def changed_buckets(
        self, touched: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], set[str]]:
        """Every KPI of every period of the given (entity, bucket) pairs: what to publish again
        when it is not known which components changed (after a crash)."""
        every = {kpi.id for kpi in self._catalogue}
        changed: dict[tuple[str, str], set[str]] = defaultdict(set)
        for entity, bucket in touched:
            periods = self._calendar.periods_of_month(bucket) if is_month(bucket) else (bucket,)
            for period in periods:
                changed[(entity, period)].update(every)
        return changed

    async def openings(
        self, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], dict[str, int]]:
        """Prefix components summed over the fiscal years before each (entity, year)."""
        wanted = {
            (entity, _previous_year(fy, back))
            for entity, fy in keys
            for back in range(1, HISTORY_YEARS + 1)
        }
        documents = await self._store.counter_documents({f"{e}|{fy}" for e, fy in wanted})
        year_totals: dict[tuple[str, str], dict[str, int]] = {}
        for entity, fy in wanted:
            totals: dict[str, int] = defaultdict(int)
            for components in _buckets(documents.get(f"{entity}|{fy}")).values():
                for component, value in components.items():
                    if component in PREFIX_SUMMED:
                        totals[component] += value
            year_totals[(entity, fy)] = dict(totals)
        openings: dict[tuple[str, str], dict[str, int]] = {}
        for entity, fy in keys:
            opening: dict[str, int] = defaultdict(int)
            for back in range(1, HISTORY_YEARS + 1):
                for component, value in year_totals[(entity, _previous_year(fy, back))].items():
                    opening[component] += value
            openings[(entity, fy)] = dict(opening)
        return openings

    def _fiscal_year(self, period: str) -> str:
        fiscal_year = self._fiscal_years.get(period)
        if fiscal_year is None:
            fiscal_year = self._fiscal_years[period] = self._calendar.fiscal_year_of_month(
                self._starts(period)
            )
        return fiscal_year

    def split_live(
        self, changed: Mapping[tuple[str, str], set[str]]
    ) -> tuple[dict[tuple[str, str], set[str]], dict[tuple[str, str], set[str]]]:
        """What a live publication sends at once, the months changed, and what follows with
        the next complete one: the quarters, halves and years, and the months whose KPIs sum
        them into later periods (`_with_later_periods`), with those KPIs."""
        now: dict[tuple[str, str], set[str]] = {}
        later: dict[tuple[str, str], set[str]] = {}
        for (entity, period), kpis in changed.items():
            if not is_month(period):
                later[(entity, period)] = set(kpis)
                continue
            now[(entity, period)] = set(kpis)
            prefix = kpis & self._uses_prefix
            if prefix:
                later[(entity, period)] = prefix
        return now, later

    async def messages(
        self,
        changed: Mapping[tuple[str, str], set[str]],
        stream_time: datetime | None,
        *,
        later: bool = True,
    ) -> list[Outbound]:
        """One score message per changed (entity, KPI, period), from the committed counters,
        and with `later` per later period the change reaches (`_with_later_periods`).
        A score that cannot be computed (a bug, or a configuration the catalogue did not
        catch) is logged with its key and counted, and the others go out."""
        return [
            Outbound(topics.SCORES, fields["entity"].encode(), encode_score(fields))
            for fields in await self.fields(changed, stream_time, later=later)
        ]

    async def fields(
        self,
        changed: Mapping[tuple[str, str], set[str]],
        stream_time: datetime | None,
        *,
        later: bool = True,
    ) -> list[ScoreFields]:
        """The fields of `messages`' scores."""
        if stream_time is None or not changed:
            return []
        if later:
            changed = await self._with_later_periods(changed)
        needs_opening = {
            (entity, self._fiscal_year(period))
            for (entity, period), kpis in changed.items()
            if kpis & self._uses_prefix
        }
        openings = await self.openings(needs_opening)
        documents = await self._store.counter_documents(
            {f"{entity}|{self._fiscal_year(period)}" for entity, period in changed}
        )
        scores: list[ScoreFields] = []
        kpis = self._kpis
        for number, ((entity, period), kpi_ids) in enumerate(sorted(changed.items()), 1):
            if number % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let a batch beside this publication go on
            fiscal_year = self._fiscal_year(period)
            totals = period_totals(
                period,
                documents.get(f"{entity}|{fiscal_year}"),
                openings.get((entity, fiscal_year), {}),
                self._calendar,
            )
            for kpi_id in sorted(kpi_ids):
                kpi = kpis.get(kpi_id)
                if kpi is None:
                    continue  # a KPI of other definitions (a comparison across generations)
                if self._dated and self._rule(kpi, period, stream_time) is None:
                    continue  # not defined yet in this period (effective_from later)
                try:
                    fields = self.score_fields(kpi, entity, period, totals, stream_time)
                except Exception:
                    self._on_failure()
                    logger.exception("cannot compute %s of %s for %s", kpi_id, entity, period)
                    continue
                scores.append(fields)
        return scores

    @property
    def definitions(self) -> DefinitionsFields | None:
        """The definitions version stamped on the scores."""
        return self._definitions

    async def _with_later_periods(
        self, changed: Mapping[tuple[str, str], set[str]]
    ) -> Mapping[tuple[str, str], set[str]]:
        """Add the later periods a change reaches through a prefix sum.

        Policies in force and existing customers (PREFIX_SUMMED) are summed over every month
        before a period, and over the years before through the opening. So a month's change
        changes those KPIs in every later month of its fiscal year and in the years after:
        each later month that already has a bucket (so may have been published) is published
        again. Without this, an April event applied after May's last update — another
        partition behind, a restart — left May's published figures short of the state.
        """
        earliest: dict[str, tuple[str, set[str]]] = {}
        for (entity, period), kpis in changed.items():
            prefix = kpis & self._uses_prefix
            if not prefix or not is_month(period):
                continue
            first, known = earliest.get(entity, (period, set()))
            earliest[entity] = (min(first, period), known | prefix)
        if not earliest:
            return changed
        years = {
            entity: self._calendar.fiscal_year_of_month(month)
            for entity, (month, _) in earliest.items()
        }
        ids = {
            f"{entity}|{_previous_year(year, -ahead)}"
            for entity, year in years.items()
            for ahead in range(HISTORY_YEARS + 1)
        }
        documents = await self._store.counter_documents(ids)
        wider = {key: set(kpis) for key, kpis in changed.items()}
        for entity, (month, kpis) in earliest.items():
            for ahead in range(HISTORY_YEARS + 1):
                document = documents.get(f"{entity}|{_previous_year(years[entity], -ahead)}")
                for bucket in _buckets(document):
                    if is_month(bucket) and bucket > month:
                        for period in self._periods_of(bucket):
                            # A quarter, half or year that began by `month` sums its stock
                            # before that: unchanged.
                            if self._starts(period) > month:
                                wider.setdefault((entity, period), set()).update(kpis)
        return wider

    def score(
        self,
        kpi: KpiDefinition,
        entity: str,
        period: str,
        totals: PeriodTotals,
        as_of: datetime,
    ) -> Score:
        """The score of one KPI from an entity's period totals."""
        return Score.model_validate(self.score_fields(kpi, entity, period, totals, as_of))

    def score_fields(
        self,
        kpi: KpiDefinition,
        entity: str,
        period: str,
        totals: PeriodTotals,
        as_of: datetime,
    ) -> ScoreFields:
        """The fields of `score`, for `encode_score` on the hot path (no model built). The
        KPI's version in force in the period (`effective_from`) is the one computed; a KPI not
        defined yet in the period has no value."""
        rule = self._rule(kpi, period, as_of)
        if rule is None:
            return self._undefined(kpi, entity, period, totals, as_of)
        kpi = rule
        facts = self._periods.get(period)
        if facts is None:
            facts = self._periods[period] = self._period_facts(period)
        span, window, working_days = facts
        target_key = (kpi.id, entity, span, kpi.effective_from)
        if target_key in self._targets_cache:
            target = self._targets_cache[target_key]
        else:
            if len(self._targets_cache) >= CACHED_FACTS:
                self._targets_cache.clear()
            target = self._targets.target(kpi, entity, period, self._calendar)
            self._targets_cache[target_key] = target
        formula_key = (kpi.id, kpi.effective_from)
        formula = self._formulas.get(formula_key)
        if formula is None:
            formula = self._formulas[formula_key] = Formula.of(kpi)
        denominator_target: Decimal | None = target
        if formula.source is DenominatorSource.TARGET:
            denominator_target = self._targets.plan(entity, period, self._calendar)
        if window:  # ends at as_of: not kept
            working_days = self._calendar.window_working_days(period, as_of)
        if entity not in self._headcounts:
            self._headcounts[entity] = self._targets.headcount(entity)
        value, numerator, denominator = formula.operands(
            totals.totals,
            totals.prefix,
            target=denominator_target,
            headcount=self._headcounts[entity],
            working_days=working_days,
        )
        revision = totals.revision
        fields: ScoreFields = {
            "schema_version": 1,
            "score_id": Score.make_id(
                entity,
                period,
                kpi.id,
                numerator=numerator,
                denominator=denominator,
                revision=revision,
            ),
            "entity": entity,
            "period": period,
            "kpi": kpi.id,
            "value": value,
            "numerator": numerator,
            "denominator": denominator,
            "target": target,
            "attainment": attainment(value, target, kpi.direction),
            "revision": revision,
            "as_of": as_of,
            "definitions": self._definitions,
            "revision_reason": None,
            "previous_definitions": None,
        }
        return fields

    def _period_facts(self, period: str) -> tuple[object, bool, int]:
        """What a period's scores share: its kind (a window: itself), whether it is a rolling
        window, and its working days (a window's end at `as_of`: computed per score)."""
        if is_window(period):
            return period, True, 0
        return parse_period(period).kind, False, self._calendar.working_days(period)

    def _rule(self, kpi: KpiDefinition, period: str, as_of: datetime) -> KpiDefinition | None:
        """The version of `kpi` in force in the period (None before its first version)."""
        if not self._dated:
            return kpi
        return self._catalogue.in_force(kpi.id, rule_month(period, self._calendar, as_of))

    def _undefined(
        self, kpi: KpiDefinition, entity: str, period: str, totals: PeriodTotals, as_of: datetime
    ) -> ScoreFields:
        return ScoreFields(
            schema_version=1,
            score_id=Score.make_id(
                entity, period, kpi.id, numerator=None, denominator=None, revision=totals.revision
            ),
            entity=entity,
            period=period,
            kpi=kpi.id,
            value=None,
            numerator=None,
            denominator=None,
            target=None,
            attainment=None,
            revision=totals.revision,
            as_of=as_of,
            definitions=self._definitions,
            revision_reason=None,
            previous_definitions=None,
        )
