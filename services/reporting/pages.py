"""A stored scorecard with what its page shows around it: the peers on the coaching grid and
the entity's last 12 periods of the same kind. Used by the HTTP endpoint and `kpi scorecard`."""

from shared.config.org import OrgChart
from shared.kpi.catalogue import KpiCatalogue
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.messages.scorecard import Scorecard

from .domain import ScorecardConfig
from .domain.config_models import QUADRANT_IDS
from .domain.context import peer_group
from .render import (
    QuadrantChart,
    QuadrantPoint,
    ScorecardPage,
    TrendPoint,
    kpi_labels_from,
    kpi_units_from,
    quadrant_names,
)
from .render.page import TREND_PERIODS, Language
from .store import ScorecardStore


def _actual(card: Scorecard, kpi: str) -> tuple[object, object] | None:
    line = next((line for line in card.kpis if line.kpi == kpi), None)
    if line is None or line.actual is None:
        return None
    return line.actual, line.target


async def scorecard_page(
    store: ScorecardStore,
    *,
    config: ScorecardConfig,
    catalogue: KpiCatalogue,
    calendar: FiscalCalendar,
    entity: str,
    period: str,
    language: Language = "en",
    org: OrgChart | None = None,
) -> ScorecardPage | None:
    """The page of the newest revision of an entity's scorecard, or None if there is none.
    With `org`, the page shows the entity's name (in `language`) beside its id."""
    periods = [period]
    for _ in range(TREND_PERIODS - 1):
        periods.append(calendar.previous_period(periods[-1]))
    history = await store.latest(entity, periods)
    card = history.get(period)
    if card is None:
        return None
    trend = tuple(TrendPoint(p, history[p].final_score) for p in reversed(periods) if p in history)
    # The profile's version of the period (effective_from), as the scorecard was built with.
    in_force = config.in_force(card.profile, calendar.months_of(period)[0])
    profile = in_force if in_force is not None else config[card.profile]
    chart = None
    scheme = profile.quadrants
    own = (_actual(card, scheme.x.kpi), _actual(card, scheme.y.kpi)) if scheme is not None else None
    if scheme is not None and own is not None and own[0] is not None and own[1] is not None:
        x_split = scheme.x.split_at if scheme.x.split_at is not None else own[0][1]
        y_split = scheme.y.split_at if scheme.y.split_at is not None else own[1][1]
        peers = await store.latest_of_period(period)
        points = []
        for peer in peers.values():
            if peer_group(peer) != peer_group(card):
                continue
            x, y = _actual(peer, scheme.x.kpi), _actual(peer, scheme.y.kpi)
            if x is not None and y is not None:
                points.append(QuadrantPoint(peer.entity, x[0], y[0]))  # type: ignore[arg-type]
        if x_split is not None and y_split is not None:
            chart = QuadrantChart(
                x_kpi=scheme.x.kpi,
                y_kpi=scheme.y.kpi,
                x_split=x_split,  # type: ignore[arg-type]
                y_split=y_split,  # type: ignore[arg-type]
                points=tuple(points),
                names=quadrant_names({q: scheme.labels.of(q) for q in QUADRANT_IDS}),
            )
    return ScorecardPage(
        scorecard=card,
        kpi_labels=kpi_labels_from(catalogue),
        kpi_units=kpi_units_from(catalogue),
        quadrant=chart,
        trend=trend,
        language=language,
        profile_name=profile.labels,
        entity_name=org.name(card.entity, language) if org is not None else None,
    )
