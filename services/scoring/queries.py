"""Reading current KPI values out of the state, for `kpi scores` and the other services."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from shared import topics
from shared.kpi.components import C
from shared.kpi.fiscal_calendar import parse_window
from shared.messages import Score

from .ports import StateStore
from .scores import PeriodTotals, ScoreBuilder, period_totals


async def current_scores(
    store: StateStore,
    builder: ScoreBuilder,
    *,
    entity: str,
    period: str,
    kpi: str | None = None,
) -> list[Score]:
    """Every KPI (or one) of an entity for a period, as the state stands now.

    A rolling window (`R30D`) is summed from day buckets, which are kept from branch level up,
    and ends at the current stream time.
    """
    as_of = await store.stream_time(topics.SCORING_GROUP)
    if as_of is None:
        return []
    kpis = [builder.catalogue[kpi]] if kpi is not None else list(builder.catalogue)
    if period.startswith("R"):
        parse_window(period)
        totals = await _window_totals(store, builder, entity, period, as_of)
    else:
        found = await period_scores(store, builder, entities=[entity], period=period)
        scores = found.get(entity, [])
        return scores if kpi is None else [s for s in scores if s.kpi == kpi]
    return [builder.score(k, entity, period, totals, as_of) for k in kpis]


async def period_scores(
    store: StateStore, builder: ScoreBuilder, *, entities: Sequence[str], period: str
) -> dict[str, list[Score]]:
    """Every KPI of many entities for one calendar period (month, quarter, half, fiscal year),
    read in bulk: one counter read and one opening read for all of them. Empty before any
    event has been applied."""
    as_of = await store.stream_time(topics.SCORING_GROUP)
    if as_of is None:
        return {}
    calendar = builder.calendar
    fiscal_year = calendar.fiscal_year_of_month(calendar.months_of(period)[0])
    documents = await store.counter_documents({f"{e}|{fiscal_year}" for e in entities})
    openings = await builder.openings({(e, fiscal_year) for e in entities})
    result: dict[str, list[Score]] = {}
    for entity in entities:
        totals = period_totals(
            period,
            documents.get(f"{entity}|{fiscal_year}"),
            openings.get((entity, fiscal_year), {}),
            calendar,
        )
        result[entity] = [
            builder.score(k, entity, period, totals, as_of) for k in builder.catalogue
        ]
    return result


async def _window_totals(
    store: StateStore, builder: ScoreBuilder, entity: str, window: str, as_of: datetime
) -> PeriodTotals:
    calendar = builder.calendar
    days = calendar.days_of_window(window, as_of)
    years = {calendar.bucket_fiscal_year(day) for day in days}
    documents = await store.counter_documents({f"{entity}|{fy}" for fy in years})
    totals = PeriodTotals(totals=defaultdict(int))
    wanted = set(days)
    for document in documents.values():
        for bucket, components in document.get("buckets", {}).items():
            if bucket in wanted:
                for component, value in components.items():
                    if component != C.REVISIONS:
                        totals.totals[component] += value
    return totals
