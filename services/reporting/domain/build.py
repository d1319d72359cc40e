"""One entity's scorecard for one period (DESIGN §6, §11), from what scoring computed.

`build_scorecard` is pure: the service gathers the inputs (the period's scores, the assessment,
the previous period's final score) and ranks the period's scorecards together afterwards with
`context.rank_scorecards`.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Final, Protocol

from shared.kpi.catalogue import KpiCatalogue
from shared.kpi.kpi_definition import KpiDefinition
from shared.messages.definitions import Definitions
from shared.messages.scorecard import KpiLine, Scorecard, ScorecardStatus

from .config_models import FallbackUse, ProfileKpi
from .context import classify_quadrant, trend_of
from .grading import cap_grade, find_vetoes, grade_for
from .methods import UNBOUNDED, earn, points_attainment, round_points, scoring_attainment
from .profiles import Profile
from .targets import TargetBasis, resolve_target

_HUNDRED: Final = Decimal(100)


class KpiReading(Protocol):
    """What the scorecard reads of a KPI's score; `shared.messages.Score` is one.

    The attainment is recomputed from value and target with scoring's own formula
    (`kpi_values.attainment`), so it equals the published one, and stays right when the
    profile replaces the target.
    """

    @property
    def value(self) -> Decimal | None: ...

    @property
    def target(self) -> Decimal | None: ...


@dataclass(frozen=True, slots=True)
class KpiFigures:
    """A KPI's value and target when no `Score` message is at hand."""

    value: Decimal | None
    target: Decimal | None = None


@dataclass(frozen=True)
class ScorecardInputs:
    """Everything one scorecard is built from.

    `readings` maps a KPI id to its score for the entity and period (a KPI scoring published
    nothing for is simply absent); `assessment` is the period's qualitative score 0–100;
    `coefficient` (the entity's region coefficient, see `targets.region_coefficient`) and
    `headcount` scale the profile's yearly baselines; `definitions` is the version of the
    definitions the scorecard is built with, stamped on it.
    """

    entity: str
    period: str
    readings: Mapping[str, KpiReading]
    revision: int
    status: ScorecardStatus
    activity: bool
    as_of: datetime
    assessment: Decimal | None = None
    previous_final_score: Decimal | None = None
    coefficient: Decimal | None = None
    headcount: int | None = None
    notes: tuple[str, ...] = field(default=())
    definitions: Definitions | None = None


def _text(number: Decimal) -> str:
    return format(number.normalize(), "f")


@dataclass(frozen=True, slots=True)
class _Line:
    line: KpiLine
    note: str | None


def _line(
    entry: ProfileKpi, kpi: KpiDefinition, inputs: ScorecardInputs, basis: TargetBasis
) -> _Line:
    reading = inputs.readings.get(entry.kpi)
    value = reading.value if reading is not None else None
    resolved = resolve_target(
        entry.target,
        kpi,
        scored=reading is not None,
        scored_target=reading.target if reading is not None else None,
        basis=basis,
        period=inputs.period,
    )
    target = resolved.target
    shown = scoring_attainment(value, target, kpi.direction)
    attained = points_attainment(value, target, kpi.direction)
    earned = earn(entry, value=value, attained=attained)
    weight = _text(entry.weight)
    note: str | None = None
    if earned.missing == "value":
        note = f"{entry.kpi}: no value for {inputs.period}; it earns 0 of {weight} points"
    elif earned.missing == "target":
        why = f" ({resolved.problem})" if resolved.problem else ""
        note = f"{entry.kpi}: no target{why}; it earns 0 of {weight} points"
    elif attained == UNBOUNDED and value is not None and target is not None:
        note = (
            f"{entry.kpi}: {_text(value)} against a target of {_text(target)} beats it outright; "
            f"it earns {earned.points} of {weight} points"
        )
    line = KpiLine(
        kpi=entry.kpi,
        category=entry.category,
        weight=entry.weight,
        method=entry.method.value,
        actual=value,
        target=target,
        attainment=shown,
        points=earned.points,
    )
    return _Line(line, note)


def build_scorecard(
    inputs: ScorecardInputs, profile: Profile, catalogue: KpiCatalogue
) -> Scorecard:
    """The scorecard of `inputs.entity` for `inputs.period` under `profile`, unranked
    (`rank` None, `peers` 0 until `context.rank_scorecards`).

    Points per KPI by the profile's method; quantitative score = their sum (at most 100);
    final = quantitative × split + qualitative × the rest, where a missing assessment is
    replaced by the profile's fallback and `qualitative_note` says so; grade from the final
    score, capped at qualified by any veto; trend against the previous final score; the
    coaching quadrant of the profile's axes. `ValueError` for an assessment outside 0–100.
    """
    if inputs.assessment is not None and not 0 <= inputs.assessment <= _HUNDRED:
        raise ValueError(f"assessment {inputs.assessment} is outside 0–100")
    basis = TargetBasis.of(
        inputs.entity, inputs.period, coefficient=inputs.coefficient, headcount=inputs.headcount
    )
    built = [_line(entry, catalogue[entry.kpi], inputs, basis) for entry in profile.kpis]
    lines = [item.line for item in built]
    notes = list(inputs.notes)
    if not inputs.activity:
        notes.append(
            f"No event reached {inputs.entity} in {inputs.period}: KPIs without a value earn 0"
        )
    notes += [item.note for item in built if item.note is not None]

    quantitative = min(sum((line.points for line in lines), Decimal(0)), _HUNDRED)
    split = profile.split
    qualitative_note: str | None = None
    qualitative = inputs.assessment
    if qualitative is None:
        fallback = profile.qualitative_fallback
        share = _text(split.qualitative)
        if fallback.use is FallbackUse.FIXED and fallback.value is not None:
            qualitative = fallback.value
            qualitative_note = (
                f"No assessment for {inputs.period}: the qualitative part ({share}%) uses the "
                f"fixed score {_text(fallback.value)}"
            )
        else:
            qualitative = quantitative
            qualitative_note = (
                f"No assessment for {inputs.period}: the qualitative part ({share}%) uses the "
                f"quantitative score {quantitative}"
            )
    final = round_points(
        (quantitative * split.quantitative + qualitative * split.qualitative) / _HUNDRED
    )

    values = {kpi: reading.value for kpi, reading in inputs.readings.items()}
    vetoes = find_vetoes(profile.vetoes, catalogue, values)
    grade, capped = cap_grade(grade_for(final, profile.grades), vetoes)

    quadrant = None
    scheme = profile.quadrants
    if scheme is not None:
        targets = {line.kpi: line.target for line in lines}
        x_split = scheme.x.split_at if scheme.x.split_at is not None else targets.get(scheme.x.kpi)
        y_split = scheme.y.split_at if scheme.y.split_at is not None else targets.get(scheme.y.kpi)
        quadrant = classify_quadrant(
            values.get(scheme.x.kpi),
            x_split,
            values.get(scheme.y.kpi),
            y_split,
            x_direction=catalogue[scheme.x.kpi].direction,
            y_direction=catalogue[scheme.y.kpi].direction,
        )

    return Scorecard(
        scorecard_id=Scorecard.make_id(inputs.entity, inputs.period, profile.id, inputs.revision),
        entity=inputs.entity,
        period=inputs.period,
        profile=profile.id,
        revision=inputs.revision,
        status=inputs.status,
        quantitative_score=quantitative,
        qualitative_score=inputs.assessment,
        qualitative_note=qualitative_note,
        final_score=final,
        grade=grade,
        grade_capped=capped,
        vetoes=vetoes,
        rank=None,
        peers=0,
        previous_final_score=inputs.previous_final_score,
        trend=trend_of(final, inputs.previous_final_score, flat_within=profile.trend_flat_within),
        quadrant=quadrant,
        quadrant_labels=scheme.labels.of(quadrant) if scheme and quadrant else None,
        coaching=scheme.coaching.of(quadrant) if scheme and quadrant else None,
        kpis=lines,
        activity=inputs.activity,
        notes=notes,
        as_of=inputs.as_of,
        definitions=inputs.definitions,
    )
