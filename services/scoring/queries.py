"""Reading current KPI values out of the state, for `kpi scores` and the other services."""

from collections import defaultdict
from datetime import datetime

from shared import topics
from shared.messages import Score

from .domain.components import C
from .domain.fiscal_calendar import parse_window
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
    calendar = builder.calendar
    kpis = [builder.catalogue[kpi]] if kpi is not None else list(builder.catalogue)
    if period.startswith("R"):
        parse_window(period)
        totals = await _window_totals(store, builder, entity, period, as_of)
    else:
        fiscal_year = calendar.fiscal_year_of_month(calendar.months_of(period)[0])
        documents = await store.counter_documents({f"{entity}|{fiscal_year}"})
        openings = await builder.openings({(entity, fiscal_year)}, as_of)
        totals = period_totals(
            period,
            documents.get(f"{entity}|{fiscal_year}"),
            openings.get((entity, fiscal_year), {}),
            calendar,
        )
    return [builder.score(k, entity, period, totals, as_of) for k in kpis]


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
