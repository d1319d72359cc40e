"""A what-if report (`services/reporting/whatif.py`) as a text table, CSV or an HTML page.

Every format has one row per entity: the official and the draft profile, final score and
grade, the difference (draft − official) and whether the grade changes, then the summary: how
many entities were compared, how many grades change (up and down), the grade counts on each
side and the two definitions versions. Scores are points 0–100 with two decimals; the CSV
writes differences as plain decimals (-0.78) and grades as ids, the table and page with their
sign (−0.78) and a capped grade marked.
"""

import csv
import io
from decimal import Decimal
from typing import Final

from shared.messages.definitions import Definitions
from shared.messages.scorecard import Grade

from ..whatif import Side, WhatIfReport, WhatIfRow
from .numbers import score, signed_score
from .stylesheet import STYLESHEET
from .templating import render_page

COLUMNS: Final = (
    "entity",
    "official_profile",
    "official_score",
    "official_grade",
    "draft_profile",
    "draft_score",
    "draft_grade",
    "difference",
    "grade_change",
)
_CHANGE: Final = {1: "up", 2: "up", -1: "down", -2: "down", 0: ""}
_CENT: Final = Decimal("0.01")


def _version(version: Definitions | None) -> str:
    if version is None:
        return "unknown"
    return version.hash + (f" ({version.label})" if version.label else "")


def _cells(row: WhatIfRow, *, machine: bool = False) -> list[str]:
    """A row's cells for people (signed differences, capped grades marked) or, with
    `machine`, for a spreadsheet (plain decimals, grade ids)."""

    def side(found: Side | None) -> list[str]:
        if found is None:
            return ["", "", ""]
        capped = " (capped)" if found.grade_capped and not machine else ""
        return [found.profile, score(found.final_score), found.grade.value + capped]

    difference = row.difference
    if difference is None:
        shown = ""
    elif machine:
        shown = str(difference.quantize(_CENT))
    else:
        shown = signed_score(difference)
    return [row.entity, *side(row.official), *side(row.draft), shown, _CHANGE[row.grade_change]]


def summary_lines(report: WhatIfReport) -> list[str]:
    """The summary, one sentence a line."""

    def counts(side: str) -> str:
        grades = report.grades(side)
        return ", ".join(f"{grade.value} {grades[grade]}" for grade in Grade)

    lines = [
        f"period {report.period}: {report.compared} entities compared, "
        f"{report.grades_changed} grades change ({report.grades_up} up, "
        f"{report.grades_down} down), {report.scores_changed} final scores differ",
        f"official grades: {counts('official')}",
        f"draft grades:    {counts('draft')}",
    ]
    if report.only_official or report.only_draft:
        lines.append(
            f"{report.only_official} entities have a scorecard only officially, "
            f"{report.only_draft} only under the draft"
        )
    lines += [
        f"official definitions: {_version(report.official_version)}",
        f"draft definitions:    {_version(report.draft_version)}",
        "nothing was published",
    ]
    return lines


def as_table(report: WhatIfReport) -> str:
    """Aligned columns for a terminal, then the summary."""
    rows = [list(COLUMNS), *(_cells(row) for row in report.rows)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    numeric = {2, 5, 7}
    lines = [
        "  ".join(
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]
    return "\n".join([*lines, "", *summary_lines(report)]) + "\n"


def as_csv(report: WhatIfReport) -> str:
    """RFC 4180 CSV with a header row, one row per entity (no summary: a sheet sums it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in report.rows:
        writer.writerow(_cells(row, machine=True))
    return out.getvalue()


def as_html(report: WhatIfReport) -> str:
    """A standalone page (English), nothing loaded from elsewhere."""
    return render_page(
        "whatif.html",
        lang="en",
        stylesheet=STYLESHEET,
        report=report,
        columns=COLUMNS,
        rows=[_cells(row) for row in report.rows],
        changes=[row.grade_change for row in report.rows],
        summary=summary_lines(report),
    )


def drafts_page(drafts: list[str], drafts_dir: str) -> str:
    """The console's list of draft profile files to run a what-if with."""
    return render_page(
        "whatif.html", lang="en", stylesheet=STYLESHEET, report=None, drafts=drafts,
        drafts_dir=drafts_dir,
    )  # fmt: skip


def render_whatif(report: WhatIfReport, fmt: str) -> str:
    """The report in `table`, `csv` or `html`."""
    formats = {"table": as_table, "csv": as_csv, "html": as_html}
    if fmt not in formats:
        raise ValueError(f"unknown format {fmt!r}; formats are {', '.join(formats)}")
    return formats[fmt](report)
