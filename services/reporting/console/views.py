"""What the console's pages show, as plain values computed from the read side: KPI tiles with
their traffic light and sparkline, KPI tables with the rank among peers, the period choices,
links that keep the language. Pure functions, no I/O: the routes read, these shape."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final
from urllib.parse import quote, urlencode

from markupsafe import Markup

from shared.config.org import Level, parse_entity
from shared.kpi.catalogue import KpiCatalogue
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.kpi.kpi_definition import Direction, KpiDefinition
from shared.messages.score import Score

from ..render.numbers import MISSING, in_unit, percent
from ..render.page import LANGUAGES, Language
from ..render.templating import trusted
from .charts import sparkline_svg
from .labels import t

# At this attainment a KPI is near its target (amber); at 1 it meets it (green).
NEAR_TARGET: Final = Decimal("0.9")
WINDOW: Final = "R30D"
LANGUAGE_NAMES: Final = {"en": "English", "zh": "中文", "ja": "日本語"}
# The KPIs the children of an entity are compared on, when the catalogue has them.
HEADLINE_KPIS: Final = (
    "premium_attainment",
    "renewal_rate",
    "persistency_13m",
    "survey_top_box",
    "complaint_rate_per_10k",
)


class Light(StrEnum):
    """A KPI's traffic light, from its attainment."""

    GOOD = "good"
    WATCH = "watch"
    POOR = "poor"
    NONE = "none"


def light_of(attainment: Decimal | None) -> Light:
    """Green at or above target, amber within 10% of it, red below; grey without a target or
    a value (attainment is already direction-aware: above 1 is better for every KPI)."""
    if attainment is None:
        return Light.NONE
    if attainment >= 1:
        return Light.GOOD
    return Light.WATCH if attainment >= NEAR_TARGET else Light.POOR


def href(path: str, language: Language, **query: str | None) -> str:
    """A console link that keeps the language; None values are left out."""
    params = {k: v for k, v in query.items() if v is not None}
    if language != "en":
        params["lang"] = language
    return path + (f"?{urlencode(params)}" if params else "")


def entity_href(entity: str, language: Language, period: str | None = None) -> str:
    return href(f"/org/{quote(entity, safe=':')}", language, period=period)


@dataclass(frozen=True, slots=True)
class LanguageLink:
    code: str
    name: str
    href: str
    current: bool


def language_links(path: str, query: Mapping[str, str], language: Language) -> list[LanguageLink]:
    """The same page in each language."""
    links = []
    for code in LANGUAGES:
        params = {k: v for k, v in query.items() if k != "lang"}
        if code != "en":
            params["lang"] = code
        target = path + (f"?{urlencode(params)}" if params else "")
        links.append(LanguageLink(code, LANGUAGE_NAMES[code], target, code == language))
    return links


@dataclass(frozen=True, slots=True)
class Tile:
    """One KPI of the overview: value, target, attainment, light and the last 12 periods."""

    kpi: str
    name: str
    value: str
    target: str
    attainment: str
    light: Light
    light_text: str
    sparkline: Markup


def tiles(
    catalogue: KpiCatalogue,
    history: Sequence[tuple[str, Sequence[Score]]],
    language: Language,
) -> list[Tile]:
    """A tile per KPI of the catalogue, from its scores per period (oldest first; the last
    period is the one the tile shows)."""
    by_period = [(period, {s.kpi: s for s in scores}) for period, scores in history]
    current = by_period[-1][1] if by_period else {}
    found = []
    for kpi in catalogue:
        score = current.get(kpi.id)
        unit = str(kpi.unit)
        attainment = score.attainment if score is not None else None
        light = light_of(attainment)
        points = [scores[kpi.id].value if kpi.id in scores else None for _, scores in by_period]
        title = f"{kpi.label(language)}: " + ", ".join(
            f"{period} {in_unit(value, unit)}"
            for (period, _), value in zip(by_period, points, strict=True)
        )
        found.append(
            Tile(
                **_score_cells(kpi, score, unit, light, language),
                sparkline=trusted(sparkline_svg(points, title=title)),
            )
        )
    return found


def ranks(values: Mapping[str, Decimal | None], direction: Direction) -> dict[str, int]:
    """Each entity's place among the others on one KPI, the best first; equal values share a
    place (the next one skipping as many); an entity without a value has no place."""
    known = [v for v in values.values() if v is not None]
    ordered = sorted(known, reverse=direction is Direction.HIGHER_IS_BETTER)
    first: dict[Decimal, int] = {}
    for place, value in enumerate(ordered, start=1):
        first.setdefault(value, place)
    return {entity: first[v] for entity, v in values.items() if v is not None}


@dataclass(frozen=True, slots=True)
class KpiRow:
    """One KPI of an entity's table."""

    kpi: str
    name: str
    value: str
    target: str
    attainment: str
    light: Light
    light_text: str
    rank: str


def kpi_rows(
    catalogue: KpiCatalogue,
    entity: str,
    scores: Mapping[str, Sequence[Score]],
    peers: Sequence[str],
    language: Language,
) -> list[KpiRow]:
    """The entity's KPIs for a period, each ranked among `peers` (the entity included)."""
    own = {s.kpi: s for s in scores.get(entity, [])}
    rows = []
    for kpi in catalogue:
        score = own.get(kpi.id)
        unit = str(kpi.unit)
        rank = MISSING
        if len(peers) > 1 and score is not None and score.value is not None:
            values = {
                peer: next((s.value for s in scores.get(peer, []) if s.kpi == kpi.id), None)
                for peer in peers
            }
            places = ranks(values, kpi.direction)
            rank = f"{places[entity]} / {len(places)}"
        attainment = score.attainment if score is not None else None
        light = light_of(attainment)
        rows.append(KpiRow(**_score_cells(kpi, score, unit, light, language), rank=rank))
    return rows


def headline_kpis(catalogue: KpiCatalogue) -> list[str]:
    return [kpi for kpi in HEADLINE_KPIS if kpi in catalogue]


def headline_values(
    catalogue: KpiCatalogue, scores: Sequence[Score], kpis: Sequence[str]
) -> list[tuple[str, Light]]:
    """The values of the headline KPIs, each with its light, in the order of `kpis`."""
    by_kpi = {s.kpi: s for s in scores}
    shown = []
    for kpi in kpis:
        score = by_kpi.get(kpi)
        unit = str(catalogue[kpi].unit)
        value = in_unit(score.value if score else None, unit)
        shown.append((value, light_of(score.attainment if score else None)))
    return shown


@dataclass(frozen=True, slots=True)
class PeriodChoice:
    kind: str  # month, quarter, half, year, window
    label: str
    period: str
    current: bool


def period_choices(
    calendar: FiscalCalendar, month: str, chosen: str, language: Language
) -> list[PeriodChoice]:
    """The month of the latest event, its quarter, half and fiscal year, and the last 30 days."""
    quarter = calendar.quarter_of_month(month)
    half = calendar.half_of_month(month)
    year = calendar.fiscal_year_of_month(month)
    kinds = (("month", month), ("quarter", quarter), ("half", half), ("year", year))
    choices = [PeriodChoice(k, t(k, language), p, p == chosen) for k, p in kinds]
    choices.append(PeriodChoice("window", t("window", language), WINDOW, chosen == WINDOW))
    return choices


def recent_periods(calendar: FiscalCalendar, month: str) -> list[str]:
    """The last 12 months up to `month`, oldest first."""
    months = [month]
    for _ in range(11):
        months.append(calendar.previous_period(months[-1]))
    return list(reversed(months))


def level_of(entity: str) -> Level:
    return parse_entity(entity)[0]


def runbook_href(url: str) -> str:
    """Where the console shows a runbook: its own copy of docs/runbooks for a link into that
    folder, the URL itself otherwise (a link, which the browser follows only when clicked)."""
    marker = "docs/runbooks/"
    if marker in url and not url.startswith(("http://", "https://")):
        return "/runbooks/" + quote(url.split(marker, 1)[1])
    return url


def when(moment: datetime | None) -> str:
    """A time as the console writes it: UTC, to the minute."""
    return MISSING if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def hour_series(
    hours: Mapping[datetime, Mapping[str, int]], *, last: int = 48
) -> list[tuple[datetime, Mapping[str, int]]]:
    """Every hour from the first with a letter to the last, at most the `last` ones, an hour
    without letters included as empty: a chart's time axis without gaps."""
    if not hours:
        return []
    newest = max(hours)
    first = max(min(hours), newest - timedelta(hours=last - 1))
    series: list[tuple[datetime, Mapping[str, int]]] = []
    hour = first
    while hour <= newest:
        series.append((hour, hours.get(hour, {})))
        hour += timedelta(hours=1)
    return series


def redrive_commands(reasons: Sequence[str], redrive: str) -> list[str]:
    """For each reason: list its letters, preview the re-drive, re-drive (`redrive` is the
    command with a `{reason}` placeholder and --dry-run)."""
    lines: list[str] = []
    for reason in reasons:
        preview = redrive.format(reason=reason)
        lines += [
            f"# {reason}",
            f"kpi deadletters --reason {reason}",
            preview,
            preview.replace(" --dry-run", ""),
            "",
        ]
    return lines[:-1]


def count(value: int | None) -> str:
    """A count with thousands separators."""
    return MISSING if value is None else f"{value:,}"


def per_second(value: float | None) -> str:
    """A rate to one decimal."""
    return MISSING if value is None else f"{value:,.1f}"


def duration(seconds: float | None) -> str:
    """A batch's time: milliseconds below a second, seconds to two decimals above."""
    if seconds is None:
        return MISSING
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _score_cells(
    kpi: KpiDefinition, score: Score | None, unit: str, light: Light, language: Language
) -> dict[str, Any]:
    """The cells a KPI tile and a KPI row share: name, value, target, attainment and light."""
    return {
        "kpi": kpi.id,
        "name": kpi.label(language),
        "value": in_unit(score.value if score else None, unit),
        "target": in_unit(score.target if score else None, unit),
        "attainment": percent(score.attainment if score is not None else None),
        "light": light,
        "light_text": t(f"light_{light.value}", language),
    }
