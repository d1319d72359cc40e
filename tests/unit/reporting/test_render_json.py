"""The JSON scorecard is DESIGN §11's shape and reads back into the same `Scorecard`."""

import json
from decimal import Decimal

from services.reporting.render import render, scorecard_json
from shared.messages.scorecard import Scorecard
from tests.support.scorecard_sample import sample_page, sample_scorecard

SECTION_11_FIELDS = {
    "entity",
    "period",
    "profile",
    "revision",
    "status",
    "quantitative_score",
    "qualitative_score",
    "final_score",
    "grade",
    "vetoes",
    "rank",
    "quadrant",
    "kpis",
}


def test_json_round_trips_to_the_same_scorecard() -> None:
    card = sample_scorecard(vetoes=True)
    assert Scorecard.model_validate_json(scorecard_json(card)) == card


def test_json_has_the_documented_shape_with_decimal_strings() -> None:
    document = json.loads(scorecard_json(sample_scorecard(vetoes=True)))
    assert document.keys() >= SECTION_11_FIELDS
    assert document["grade"] == "qualified"
    assert document["final_score"] == "90.57"
    assert document["vetoes"][0].keys() >= {"kpi", "reason"}
    first = document["kpis"][0]
    assert first.keys() >= {"kpi", "category", "weight", "actual", "target", "attainment", "points"}
    assert first["attainment"] == "0.9612"  # a ratio stays a fraction, as a string
    assert all(isinstance(line["points"], str) for line in document["kpis"])


def test_json_keeps_null_actuals_and_missing_assessment() -> None:
    document = json.loads(scorecard_json(sample_scorecard(assessment=False)))
    assert document["qualitative_score"] is None
    line = next(k for k in document["kpis"] if k["kpi"] == "complaint_resolution_days")
    assert line["actual"] is None
    assert line["attainment"] is None


def test_json_writes_cjk_as_is() -> None:
    text = scorecard_json(sample_scorecard(vetoes=True))
    assert "13个月继续率" in text


def test_render_json_is_utf8_with_its_media_type_and_a_safe_file_name() -> None:
    rendered = render(sample_page(), "json")
    assert rendered.media_type == "application/json"
    assert rendered.filename == "scorecard-branch-B03-2025-03-r2.json"
    parsed = Scorecard.model_validate_json(rendered.body.decode("utf-8"))
    assert parsed == sample_page().scorecard
    assert parsed.final_score == Decimal("93.12")
