"""Grades and vetoes (DESIGN §6).

A final score ≥ 90 is excellent, ≥ 80 qualified, below needs improvement (the bands are
configurable). Scores are compared as Decimals, so exactly 90.00 is excellent and 89.99 is not.
A veto — a KPI past its catalogue limit, e.g. 13-month persistency below 85 % or complaints
above 5 per 10,000 — caps the grade at qualified however high the score, and the scorecard
lists each veto with its reason in English, Chinese and Japanese.
"""

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Final

from shared.kpi.catalogue import KpiCatalogue
from shared.kpi.kpi_definition import KpiDefinition, Unit
from shared.messages.scorecard import Grade, Labels, Veto

from .config_models import GradeBands

GRADE_LABELS: Final[Mapping[Grade, Labels]] = {
    Grade.EXCELLENT: Labels(en="Excellent", zh="优秀", ja="優秀"),
    Grade.QUALIFIED: Labels(en="Qualified", zh="合格", ja="合格"),
    Grade.NEEDS_IMPROVEMENT: Labels(en="Needs improvement", zh="待改进", ja="要改善"),
}
_RANK: Final = {Grade.NEEDS_IMPROVEMENT: 0, Grade.QUALIFIED: 1, Grade.EXCELLENT: 2}
_CAP: Final = Grade.QUALIFIED


def grade_for(score: Decimal, bands: GradeBands | None = None) -> Grade:
    """The grade of a final score: ≥ excellent, ≥ qualified, else needs_improvement."""
    bands = bands or GradeBands()
    if score >= bands.excellent:
        return Grade.EXCELLENT
    if score >= bands.qualified:
        return Grade.QUALIFIED
    return Grade.NEEDS_IMPROVEMENT


def grade_rank(grade: Grade) -> int:
    """0 for needs_improvement, 1 qualified, 2 excellent: grades in order."""
    return _RANK[grade]


def _shown(number: Decimal, unit: Unit, *, exact: bool) -> str:
    """A value as people read it: ratios as percentages; a limit without trailing zeros."""
    if unit is Unit.RATIO:
        number *= 100
    if exact:
        text = format(number.normalize(), "f")
    else:
        text = format(number.quantize(Decimal("0.01")), "f")
    return f"{text}%" if unit is Unit.RATIO else text


def veto_of(kpi: KpiDefinition, value: Decimal | None) -> Veto | None:
    """The veto a KPI's value triggers, with its reasons; None within the limit or with no
    value (exactly at the limit does not veto: 0.85 persistency is fine)."""
    rule = kpi.veto
    if rule is None or value is None or not rule.applies(value):
        return None
    below = rule.below is not None
    limit = rule.below if rule.below is not None else rule.above
    assert limit is not None  # a Veto has exactly one bound
    actual = _shown(value, kpi.unit, exact=False)
    bound = _shown(limit, kpi.unit, exact=True)
    reasons = Labels(
        en=(
            f"{kpi.labels.en} {actual} is {'below' if below else 'above'} the veto limit of "
            f"{bound}: the grade is capped at Qualified"
        ),
        zh=f"{kpi.labels.zh} {actual} {'低于' if below else '高于'}否决线 {bound},评级最高为合格",
        ja=(
            f"{kpi.labels.ja} {actual} が否決基準 {bound} を{'下回って' if below else '上回って'}"
            "いるため、評価は最高で「合格」となります"
        ),
    )
    return Veto(kpi=kpi.id, reason=reasons.en, reasons=reasons, actual=value, limit=limit)


def find_vetoes(
    kpi_ids: Iterable[str], catalogue: KpiCatalogue, values: Mapping[str, Decimal | None]
) -> list[Veto]:
    """The vetoes among `kpi_ids` (those with a catalogue veto), in the order given."""
    found = (veto_of(catalogue[kpi_id], values.get(kpi_id)) for kpi_id in kpi_ids)
    return [veto for veto in found if veto is not None]


def cap_grade(grade: Grade, vetoes: Iterable[Veto]) -> tuple[Grade, bool]:
    """The grade after vetoes, and whether they lowered it (excellent → qualified)."""
    if any(True for _ in vetoes) and _RANK[grade] > _RANK[_CAP]:
        return _CAP, True
    return grade, False
