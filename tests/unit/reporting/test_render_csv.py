"""The CSV scorecard: RFC 4180 through the csv module, one row per KPI line, a subtotal row per
category, one total row, and the scorecard's identity on every row."""

import csv
import io
from decimal import Decimal

from services.reporting.render import CSV_COLUMNS, render, scorecard_csv
from shared.messages.scorecard import Category
from tests.support.scorecard_sample import sample_page, sample_scorecard


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_header_and_row_layout() -> None:
    card = sample_scorecard()
    text = scorecard_csv(card)
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    assert text.endswith("\r\n")
    rows = _rows(text)
    kinds = [(row["row_type"], row["category"]) for row in rows]
    assert kinds == [
        *[("kpi", "performance")] * 4,
        ("subtotal", "performance"),
        *[("kpi", "customer_service")] * 3,
        ("subtotal", "customer_service"),
        ("kpi", "capability"),
        ("subtotal", "capability"),
        ("total", ""),
    ]
    assert [row["kpi"] for row in rows if row["row_type"] == "kpi"] == [
        line.kpi for line in card.kpis
    ]


def test_every_row_repeats_the_scorecard() -> None:
    rows = _rows(scorecard_csv(sample_scorecard(vetoes=True)))
    for row in rows:
        assert row["entity"] == "branch:B03"
        assert row["period"] == "2025-03"
        assert row["profile"] == "branch"
        assert row["revision"] == "2"
        assert row["status"] == "revised"
        assert row["grade"] == "qualified"
        assert row["final_score"] == "90.57"


def test_values_are_machine_readable_and_subtotals_add_up() -> None:
    card = sample_scorecard()
    rows = _rows(scorecard_csv(card))
    first = rows[0]
    assert (first["kpi"], first["actual"], first["target"], first["attainment"]) == (
        "premium_attainment",
        "0.9612",
        "1.0",
        "0.9612",
    )
    for category in Category:
        lines = [line for line in card.kpis if line.category is category]
        subtotal = next(
            r for r in rows if r["row_type"] == "subtotal" and r["category"] == category.value
        )
        assert Decimal(subtotal["points"]) == sum((line.points for line in lines), Decimal(0))
        assert Decimal(subtotal["weight"]) == sum((line.weight for line in lines), Decimal(0))
    total = rows[-1]
    assert Decimal(total["points"]) == card.quantitative_score
    assert Decimal(total["weight"]) == Decimal(100)


def test_a_missing_value_is_an_empty_cell() -> None:
    rows = _rows(scorecard_csv(sample_scorecard(assessment=False)))
    line = next(r for r in rows if r["kpi"] == "complaint_resolution_days")
    assert (line["actual"], line["attainment"], line["points"]) == ("", "", "0.00")
    assert rows[0]["qualitative_score"] == ""


def test_kpi_names_in_the_requested_language_and_quoting() -> None:
    page = sample_page()
    text = scorecard_csv(page.scorecard, kpi_labels=page.kpi_labels, language="zh")
    names = {row["kpi"]: row["kpi_name"] for row in _rows(text)}
    assert names["persistency_13m"] == "13个月继续率"
    english = _rows(scorecard_csv(page.scorecard, kpi_labels=page.kpi_labels))
    # "Complaints per 10,000 policies" holds a comma: quoted, and read back whole.
    assert "Complaints per 10,000 policies" in {row["kpi_name"] for row in english}


def test_kpi_name_falls_back_to_the_id() -> None:
    rows = _rows(scorecard_csv(sample_scorecard()))
    assert rows[0]["kpi_name"] == "premium_attainment"


def test_render_csv_is_utf8() -> None:
    rendered = render(sample_page(language="ja"), "csv")
    assert rendered.media_type.startswith("text/csv")
    assert rendered.filename.endswith(".csv")
    assert "13ヶ月継続率" in rendered.body.decode("utf-8")
