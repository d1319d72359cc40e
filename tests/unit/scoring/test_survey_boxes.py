"""Survey box counters as KPI definitions (shared/kpi/survey_boxes.py, kpis.yaml
`survey_boxes`), and what scoring counts with them."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import pytest

from services.scoring.domain.contributions import stateless
from shared.config import InvalidConfig
from shared.config.loading import load_calendar
from shared.kpi.catalogue import KpiCatalogue
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.kpi.survey_boxes import DEFAULT_BOXES, TOP_BOX, SurveyBox
from tests.support.config_copies import TOP2_SHARE_KPI
from tests.support.scoring_events import canonical

SOURCE: Final = "config/kpis.yaml"
CALENDAR = FiscalCalendar(load_calendar(Path("config/calendar.yaml")))
TOP8: Final = {"id": "survey_top_box", "at_least": {10: 8, 5: 5, 100: 80}}
TOP2: Final = {"id": "survey_top2_box", "at_least": {10: 7, 5: 4, 100: 70}}
SHARE: Final[dict[str, Any]] = dict(TOP2_SHARE_KPI)


def _survey(score: int, scale: int = 10) -> Any:
    return canonical(
        "survey",
        score,
        "A1",
        datetime(2024, 5, 10, 3, tzinfo=UTC),
        response_id=f"R{score}",
        policy_id="P1",
        customer_id="C1",
        score=score,
        scale=scale,
        channel="sms",
    )


def _counted(score: int, boxes: tuple[SurveyBox, ...], scale: int = 10) -> set[str]:
    deltas = stateless(_survey(score, scale), CALENDAR, boxes)
    return {
        component
        for (entity, bucket, component), n in deltas.items()
        if entity == "agent:A1" and bucket == "2024-05" and n and component.endswith("_box")
    }


def test_without_survey_boxes_the_shipped_top_box_applies() -> None:
    catalogue = KpiCatalogue.from_document({"kpis": [{**SHARE, "numerator": "survey_top_box"}]})
    assert catalogue.survey_boxes == DEFAULT_BOXES
    assert _counted(9, catalogue.survey_boxes) == {"survey_top_box"}
    assert _counted(8, catalogue.survey_boxes) == set()
    assert _counted(5, catalogue.survey_boxes, scale=5) == {"survey_top_box"}
    assert _counted(89, catalogue.survey_boxes, scale=100) == set()


def test_the_top_box_moves_to_8_and_a_new_box_feeds_a_new_kpi() -> None:
    catalogue = KpiCatalogue.from_document({"kpis": [SHARE], "survey_boxes": [TOP8, TOP2]})
    assert [b.id for b in catalogue.survey_boxes] == ["survey_top_box", "survey_top2_box"]
    assert _counted(8, catalogue.survey_boxes) == {"survey_top_box", "survey_top2_box"}
    assert _counted(7, catalogue.survey_boxes) == {"survey_top2_box"}
    assert _counted(6, catalogue.survey_boxes) == set()
    # Stated or not, the same boxes are the same definitions; another threshold is not.
    assert catalogue.as_of("2024-05").survey_boxes == catalogue.survey_boxes
    shipped = KpiCatalogue.from_document(
        {"kpis": [SHARE], "survey_boxes": [TOP2, TOP_BOX.model_dump()]}
    )
    assert catalogue != shipped


def test_a_kpi_on_an_unknown_box_names_the_component() -> None:
    with pytest.raises(InvalidConfig, match=r"numerator: unknown component 'survey_top2_box'"):
        KpiCatalogue.from_document({"kpis": [SHARE]}, source=SOURCE)


@pytest.mark.parametrize(
    ("box", "message"),
    [
        ({"id": "survey_responses", "at_least": TOP8["at_least"]}, "names another counter"),
        ({"id": "top_e2", "at_least": TOP8["at_least"]}, "names another counter"),
        ({"id": "survey_top2_box", "at_least": {10: 8, 5: 4}}, "a threshold for each scale"),
        ({"id": "survey_top2_box", "at_least": {10: 11, 5: 4, 100: 80}}, "outside 0–10"),
        ({"id": "survey_top2_box", "at_least": {10: 8, 5: 0, 100: 80}}, "outside 1–5"),
        ({"id": "Top", "at_least": TOP8["at_least"]}, "survey_boxes[0] (Top).id"),
    ],
)
def test_a_wrong_box_is_refused_with_the_entry_named(box: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidConfig) as raised:
        KpiCatalogue.from_document(
            {"kpis": [{**SHARE, "numerator": "survey_top_box"}], "survey_boxes": [box]},
            source=SOURCE,
        )
    assert message in str(raised.value)


def test_a_box_counts_from_its_threshold_up() -> None:
    box = SurveyBox.model_validate(TOP8)
    assert box.counts(Decimal(8), 10)
    assert not box.counts(Decimal("7.9"), 10)
    assert box.counts(Decimal(80), 100)
