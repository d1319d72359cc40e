"""Renderers of a scorecard (DESIGN §6, §11): JSON, CSV and a printable HTML page.

Pure functions of a `Scorecard` (JSON, CSV) or a `ScorecardPage` (HTML: the scorecard plus
peers, trend, KPI names and language); they return text and do no I/O.
"""

from .as_csv import COLUMNS as CSV_COLUMNS
from .as_csv import scorecard_csv
from .as_html import scorecard_html
from .as_json import scorecard_json
from .entity_label import entity_label
from .output import FORMATS, MEDIA_TYPES, Format, Rendered, render, render_text
from .page import (
    LANGUAGES,
    TREND_PERIODS,
    Language,
    QuadrantChart,
    QuadrantPoint,
    ScorecardPage,
    TrendPoint,
    kpi_labels_from,
    kpi_units_from,
    quadrant_names,
)

__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "LANGUAGES",
    "MEDIA_TYPES",
    "TREND_PERIODS",
    "Format",
    "Language",
    "QuadrantChart",
    "QuadrantPoint",
    "Rendered",
    "ScorecardPage",
    "TrendPoint",
    "entity_label",
    "kpi_labels_from",
    "kpi_units_from",
    "quadrant_names",
    "render",
    "render_text",
    "scorecard_csv",
    "scorecard_html",
    "scorecard_json",
]
