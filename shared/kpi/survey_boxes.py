"""Survey box counters: how many answers reach a threshold, a definition in `kpis.yaml`.

Scoring counts, for each box, the survey answers at or above the box's threshold on the
answer's scale (0–10, 1–5 or 0–100) in a counter component named by the box's id; a KPI reads
it like any other component (`survey_top_box` is the numerator of the top-box share). The
shipped file states the top box of DESIGN §5 (9–10 on 0–10, 5 on 1–5, ≥ 90 on 0–100), and it
applies when the file states none. Since the box is counted when an event is applied, a changed
threshold or a new box changes what is counted from the next event on; `kpi recompute` counts
the past again (docs/recompute.md).

A box may be listed again under the same id with an `effective_from` (a fiscal year, half,
quarter or month), like a KPI: an answer is counted with the version of each box in force in
the local month it was given, which is the month it is counted in. The top box the file does
not state from the beginning is the shipped one until its first stated version; another box
is not counted before its first version.

```yaml
survey_boxes:
  - id: survey_top_box
    at_least: {10: 9, 5: 5, 100: 90}
  - id: survey_top_box                  # from FY2025 (1 April 2025, local time): from 8
    effective_from: FY2025
    at_least: {10: 8, 5: 5, 100: 80}
```
"""

from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Final

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from .effective import check_effective_from, start_month
from .fiscal_calendar import FiscalCalendar

SCALES: Final = (10, 5, 100)
_RANGE: Final = {
    10: (Decimal(0), Decimal(10)),
    5: (Decimal(1), Decimal(5)),
    100: (Decimal(0), Decimal(100)),
}


class SurveyBox(BaseModel):
    """One box: its counter component and the least answer counted, per scale."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]
    at_least: dict[int, Decimal] = Field(description="scale (10, 5, 100) -> least answer counted")
    effective_from: (
        Annotated[str, Field(strict=True), AfterValidator(check_effective_from)] | None
    ) = None

    @model_validator(mode="after")
    def _scales(self) -> "SurveyBox":
        if set(self.at_least) != set(SCALES):
            raise ValueError("at_least needs a threshold for each scale: {10: …, 5: …, 100: …}")
        for scale, least in self.at_least.items():
            low, high = _RANGE[scale]
            if not low <= least <= high:
                raise ValueError(f"at_least {scale}: {least} is outside {low}–{high}")
        return self

    def counts(self, score: Decimal, scale: int) -> bool:
        """Whether an answer on the scale is in the box."""
        return score >= self.at_least[scale]


TOP_BOX: Final = SurveyBox(
    id="survey_top_box", at_least={10: Decimal(9), 5: Decimal(5), 100: Decimal(90)}
)
DEFAULT_BOXES: Final = (TOP_BOX,)


def boxes_in_force(
    boxes: Sequence[SurveyBox], month: str, calendar: FiscalCalendar
) -> tuple[SurveyBox, ...]:
    """The version of each box in force in `month` (``2025-04``): the one with the latest
    start at or before it; a box whose first version starts later is left out. Without any
    `effective_from`, every box as it is."""
    if all(box.effective_from is None for box in boxes):
        return tuple(boxes)
    chosen: dict[str, tuple[str, SurveyBox]] = {}
    for box in boxes:
        start = start_month(box.effective_from, calendar)
        held = chosen.get(box.id)
        if start <= month and (held is None or start > held[0]):
            chosen[box.id] = (start, box)
    return tuple(box for _, box in chosen.values())


def first_months(boxes: Sequence[SurveyBox], calendar: FiscalCalendar) -> dict[str, str]:
    """The month each box is first counted in (`BEGINNING`, "", when since ever)."""
    firsts: dict[str, str] = {}
    for box in boxes:
        start = start_month(box.effective_from, calendar)
        firsts[box.id] = min(start, firsts.get(box.id, start))
    return firsts
