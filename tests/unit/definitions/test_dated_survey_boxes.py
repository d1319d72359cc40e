"""Effective-dated survey boxes (kpis.yaml `survey_boxes` with `effective_from`): an answer is
counted with the version of each box in force in the local month it was given, so the top box
moves at a fiscal-year boundary; a bad dated box names the file, the entry and the field."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import pytest

from services.scoring.domain.contributions import stateless
from shared.config import InvalidConfig
from shared.config.loading import load_calendar
from shared.kpi.catalogue import KpiCatalogue
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.kpi.survey_boxes import TOP_BOX, SurveyBox, boxes_in_force
from tests.support.config_copies import TOP2_SHARE_KPI
from tests.support.scoring_events import canonical

CALENDAR: Final = FiscalCalendar(load_calendar(Path("config/calendar.yaml")))  # April, Tokyo
TOP8_FY2025: Final = {
    "id": "survey_top_box",
    "effective_from": "FY2025",
    "at_least": {10: 8, 5: 5, 100: 80},
}
TOP2: Final[dict[str, Any]] = {"id": "survey_top2_box", "at_least": {10: 7, 5: 4, 100: 70}}
SHARE: Final[dict[str, Any]] = dict(TOP2_SHARE_KPI)
# 00:00 on 1 April 2025 in Tokyo: FY2025 begins.
FY2025: Final = datetime(2025, 3, 31, 15, tzinfo=UTC)


def _counted(score: int, at: datetime, boxes: tuple[SurveyBox, ...]) -> set[str]:
    event = canonical(
        "survey", 1, "A1", at, response_id="R1", policy_id="P1", customer_id="C1",
        score=score, scale=10, channel="sms",
    )  # fmt: skip
    month = CALENDAR.month_of(at)
    return {
        component
        for (entity, bucket, component), n in stateless(event, CALENDAR, boxes).items()
        if (entity, bucket) == ("agent:A1", month) and n and component.endswith("_box")
    }


def test_the_top_box_moves_at_the_fiscal_years_local_midnight() -> None:
    # Only the FY2025 version is stated: the shipped top box (from 9) applies before it.
    catalogue = KpiCatalogue.from_document(
        {"kpis": [{**SHARE, "numerator": "survey_top_box"}], "survey_boxes": [TOP8_FY2025]}
    )
    boxes = catalogue.survey_boxes
    last_second = FY2025 - timedelta(seconds=1)  # 23:59:59 on 31 March in Tokyo: FY2024
    assert _counted(8, last_second, boxes) == set()
    assert _counted(9, last_second, boxes) == {"survey_top_box"}
    assert _counted(8, FY2025, boxes) == {"survey_top_box"}
    assert _counted(7, FY2025, boxes) == set()
    assert boxes_in_force(boxes, "2025-03", CALENDAR) == (TOP_BOX,)
    assert [b.at_least[10] for b in boxes_in_force(boxes, "2025-04", CALENDAR)] == [8]


def test_a_box_first_stated_later_is_not_counted_before() -> None:
    joining = {**TOP2, "effective_from": "FY2025-Q2"}  # July 2025 on
    kpi = {**SHARE, "effective_from": "FY2025-Q2"}
    catalogue = KpiCatalogue.from_document({"kpis": [kpi], "survey_boxes": [joining]})
    june, july = datetime(2025, 6, 30, 14, 59, tzinfo=UTC), datetime(2025, 6, 30, 15, tzinfo=UTC)
    assert _counted(7, june, catalogue.survey_boxes) == set()
    assert _counted(7, july, catalogue.survey_boxes) == {"survey_top2_box"}


def test_without_effective_from_every_month_counts_the_same_boxes() -> None:
    catalogue = KpiCatalogue.from_document({"kpis": [SHARE], "survey_boxes": [TOP2]})
    boxes = catalogue.survey_boxes
    assert boxes_in_force(boxes, "2020-01", CALENDAR) == boxes_in_force(boxes, "2030-12", CALENDAR)
    assert boxes_in_force(boxes, "2020-01", CALENDAR) == boxes


@pytest.mark.parametrize(
    ("boxes", "kpis", "says"),
    [
        (
            [TOP2, {**TOP2, "effective_from": "FY2025"}, {**TOP2, "effective_from": "2025-04"}],
            [SHARE],
            "survey_boxes[2] (survey_top2_box).effective_from: this version starts in 2025-04, "
            "like survey_boxes[1]",
        ),
        (
            [TOP2, TOP2],
            [SHARE],
            "survey_boxes[1] (survey_top2_box).id: box 'survey_top2_box' is already defined at "
            "survey_boxes[0]",
        ),
        (
            [{**TOP2, "effective_from": "FY25"}],
            [SHARE],
            "survey_boxes[0] (survey_top2_box).effective_from: 'FY25' is not a period",
        ),
        (
            [{**TOP2, "effective_from": "FY2025"}],
            [SHARE],
            "kpis[0] (survey_top2_share).numerator: 'survey_top2_box' is counted from 2025-04",
        ),
    ],
)
def test_a_bad_dated_box_names_the_entry_and_the_field(
    boxes: list[dict[str, Any]], kpis: list[dict[str, Any]], says: str
) -> None:
    with pytest.raises(InvalidConfig) as refused:
        KpiCatalogue.from_document({"kpis": kpis, "survey_boxes": boxes})
    assert says in str(refused.value)
