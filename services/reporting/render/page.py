"""What the HTML page is drawn from: the scorecard plus the context the message does not carry
(the peers' quadrant points, the trend, the KPI display names and units, the language).

The service builds a `ScorecardPage` from its store and the catalogue; the renderers only read
it, so every picture of a scorecard is a pure function of one frozen value.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Literal, Protocol

from shared.messages.scorecard import Labels, Scorecard

from .entity_label import entity_label

Language = Literal["en", "zh", "ja"]
LANGUAGES: tuple[Language, ...] = ("en", "zh", "ja")

# Up to this many periods are drawn in the trend chart; older ones are dropped.
TREND_PERIODS = 12


def text_in(labels: Labels, language: Language) -> str:
    """One of the three texts of `labels`."""
    return str(getattr(labels, language))


@dataclass(frozen=True, slots=True)
class QuadrantPoint:
    """One peer on the quadrant chart: its values on the two axis KPIs."""

    entity: str
    x: Decimal
    y: Decimal


@dataclass(frozen=True, slots=True)
class QuadrantChart:
    """The peers on two KPIs, split at the targets (default renewal rate × satisfaction).

    `names` may give each quadrant a display name, keyed by (x is high, y is high); a quadrant
    without one is named from the axis KPIs ("High renewal rate · low satisfaction").
    """

    x_kpi: str
    y_kpi: str
    x_split: Decimal
    y_split: Decimal
    points: tuple[QuadrantPoint, ...] = ()
    names: Mapping[tuple[bool, bool], Labels] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """The final score of one earlier (or this) period."""

    period: str
    final_score: Decimal


@dataclass(frozen=True, slots=True)
class ScorecardPage:
    """Everything the HTML scorecard shows.

    `kpi_labels` maps a KPI id to its display names (a KPI missing from it is shown by id);
    `kpi_units` maps a KPI id to its catalogue unit (`ratio`, `money`, `days`, …) so that
    ratios print as percentages and money with thousands separators. `trend` is oldest first
    and ends with this period; only its last `TREND_PERIODS` points are drawn. `profile_name`
    is the profile's display name, the profile id being shown without it. `entity_name` is the
    entity's name in the page's language (from `org.yaml`), shown with its id.
    """

    scorecard: Scorecard
    kpi_labels: Mapping[str, Labels] = field(default_factory=lambda: MappingProxyType({}))
    kpi_units: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    quadrant: QuadrantChart | None = None
    trend: tuple[TrendPoint, ...] = ()
    language: Language = "en"
    profile_name: Labels | None = None
    entity_name: str | None = None

    @property
    def entity_label(self) -> str:
        """The entity as the page shows it: ``Yokohama Branch (branch:B03)``, or the id."""
        return entity_label(self.scorecard.entity, self.entity_name)

    def kpi_name(self, kpi: str) -> str:
        """The KPI's display name in the page's language, or its id when none is known."""
        labels = self.kpi_labels.get(kpi)
        return kpi if labels is None else text_in(labels, self.language)

    def unit(self, kpi: str) -> str | None:
        """The catalogue unit of a KPI, None when unknown."""
        return self.kpi_units.get(kpi)


class _CatalogueEntry(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def unit(self) -> object: ...

    def label(self, language: str) -> str: ...


def kpi_labels_from(catalogue: Iterable[_CatalogueEntry]) -> dict[str, Labels]:
    """KPI id → display names, from the KPI catalogue (`load_catalogue(...)`)."""
    return {
        kpi.id: Labels(en=kpi.label("en"), zh=kpi.label("zh"), ja=kpi.label("ja"))
        for kpi in catalogue
    }


def kpi_units_from(catalogue: Iterable[_CatalogueEntry]) -> dict[str, str]:
    """KPI id → unit (`ratio`, `money`, …), from the KPI catalogue."""
    return {kpi.id: str(kpi.unit) for kpi in catalogue}


def quadrant_names(texts: Mapping[str, Labels]) -> dict[tuple[bool, bool], Labels]:
    """`QuadrantChart.names` from texts keyed by quadrant id, x first: ``high_low`` is high x,
    low y (the ids of `config/scorecards.yaml`); other keys are ignored."""
    corners = {
        f"{'high' if x else 'low'}_{'high' if y else 'low'}": (x, y)
        for x in (True, False)
        for y in (True, False)
    }
    return {corners[key]: labels for key, labels in texts.items() if key in corners}
