"""The scorecard as CSV (RFC 4180, comma-separated, CRLF line ends, UTF-8, a header row).

One row per KPI line, each category's lines followed by its `subtotal` row, then one `total`
row of the quantitative score. Every row repeats the scorecard's identity and result (entity,
period, profile, revision, status, grade, the three scores), so a spreadsheet filter or a
`GROUP BY` needs no other sheet. Values are machine-readable: ratios as fractions 0–1, decimals
as written, an empty cell for a missing value; ids stay ids (`kpi`, `category`, `grade`) and
`kpi_name` carries the display name in the requested language.
"""

import csv
import io
from collections.abc import Mapping
from decimal import Decimal
from typing import Final

from shared.messages.scorecard import Category, KpiLine, Labels, Scorecard

from .page import Language, text_in

COLUMNS: Final = (
    "entity",
    "period",
    "profile",
    "revision",
    "status",
    "grade",
    "final_score",
    "quantitative_score",
    "qualitative_score",
    "row_type",
    "category",
    "kpi",
    "kpi_name",
    "method",
    "weight",
    "actual",
    "target",
    "attainment",
    "points",
)
ROW_KPI: Final = "kpi"
ROW_SUBTOTAL: Final = "subtotal"
ROW_TOTAL: Final = "total"

_Cell = Decimal | int | str | None


def _cell(value: _Cell) -> str:
    return "" if value is None else str(value)


def lines_by_category(scorecard: Scorecard) -> list[tuple[Category, list[KpiLine]]]:
    """The KPI lines grouped by category, categories in their declared order, lines as given."""
    return [
        (category, lines)
        for category in Category
        if (lines := [line for line in scorecard.kpis if line.category is category])
    ]


def scorecard_csv(
    scorecard: Scorecard,
    *,
    kpi_labels: Mapping[str, Labels] | None = None,
    language: Language = "en",
) -> str:
    """The scorecard's KPI table as CSV text (see the module docstring for the layout)."""
    labels = kpi_labels or {}
    head: dict[str, _Cell] = {
        "entity": scorecard.entity,
        "period": scorecard.period,
        "profile": scorecard.profile,
        "revision": scorecard.revision,
        "status": scorecard.status.value,
        "grade": scorecard.grade.value,
        "final_score": scorecard.final_score,
        "quantitative_score": scorecard.quantitative_score,
        "qualitative_score": scorecard.qualitative_score,
    }
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for category, lines in lines_by_category(scorecard):
        for line in lines:
            name = labels.get(line.kpi)
            row = head | {
                "row_type": ROW_KPI,
                "category": category.value,
                "kpi": line.kpi,
                "kpi_name": line.kpi if name is None else text_in(name, language),
                "method": line.method,
                "weight": line.weight,
                "actual": line.actual,
                "target": line.target,
                "attainment": line.attainment,
                "points": line.points,
            }
            writer.writerow({key: _cell(value) for key, value in row.items()})
        subtotal = head | {
            "row_type": ROW_SUBTOTAL,
            "category": category.value,
            "weight": sum((line.weight for line in lines), Decimal(0)),
            "points": sum((line.points for line in lines), Decimal(0)),
        }
        writer.writerow({key: _cell(value) for key, value in subtotal.items()})
    total = head | {
        "row_type": ROW_TOTAL,
        "weight": sum((line.weight for line in scorecard.kpis), Decimal(0)),
        "points": scorecard.quantitative_score,
    }
    writer.writerow({key: _cell(value) for key, value in total.items()})
    return out.getvalue()
