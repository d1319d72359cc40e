"""A KPI's value for one entity and period, from its counter totals (DESIGN §5, §11).

Decimal arithmetic only, in a 40-digit context so no counter total loses a digit; results are
rounded half-even to at most six decimal places (`PLACES`), enough for a ratio shown to four
places or money kept to four, and never padded (``0.25`` stays ``0.25``). A zero, negative or
missing denominator gives no value (None), never 0 or 1: a negative one can only come from
state that started after policies were issued, and a rate against it would mean nothing.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from typing import Final

from .components import PREFIX_SUMMED
from .kpi_definition import DenominatorSource, Direction, KpiDefinition, KpiKind

PLACES: Final = 6
_QUANTUM: Final = Decimal(1).scaleb(-PLACES)
_CONTEXT: Final = Context(prec=40, rounding=ROUND_HALF_EVEN)
# Kinds shown in units of their denominator × a constant: per 10,000 policies, NPS points.
_MULTIPLIER: Final = {KpiKind.RATE_PER_10K: Decimal(10000), KpiKind.NPS: Decimal(100)}


@dataclass(frozen=True, slots=True)
class KpiValue:
    """A KPI's value with the operands it came from, in the KPI's units (money as money,
    durations in days); `value` is None when there is no denominator to divide by."""

    value: Decimal | None
    numerator: Decimal | None
    denominator: Decimal | None


def rounded(number: Decimal) -> Decimal:
    """`number` with at most `PLACES` decimal places (half-even), never in exponent form."""
    exponent = number.as_tuple().exponent
    if not isinstance(exponent, int):  # NaN or infinity: nothing to round
        return number
    if exponent < -PLACES:
        return number.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN, context=_CONTEXT)
    if exponent > 0:  # 2E+2 → 200, so the value never reads as exponent notation
        return number.quantize(Decimal(1), context=_CONTEXT)
    return number


def _read(component: str, totals: Mapping[str, int], prefix: Mapping[str, int]) -> Decimal:
    # A prefix-summed component is a stock (policies in force, existing customers): its value
    # for the period is the sum of every bucket before the period starts.
    source = prefix if component in PREFIX_SUMMED else totals
    return Decimal(source.get(component, 0))


def _denominator(
    kpi: KpiDefinition,
    totals: Mapping[str, int],
    prefix: Mapping[str, int],
    *,
    target: Decimal | None,
    headcount: int | None,
    working_days: int,
) -> Decimal | None:
    source = kpi.denominator_from
    if source is DenominatorSource.COMPONENTS and kpi.denominator is not None:
        return _read(kpi.denominator, totals, prefix)
    if source is DenominatorSource.TARGET:
        return target
    if source is DenominatorSource.HEADCOUNT:
        return None if headcount is None else Decimal(headcount)
    if source is DenominatorSource.WORKING_DAYS:
        return Decimal(working_days)
    return None


def compute(
    kpi: KpiDefinition,
    totals: Mapping[str, int],
    prefix: Mapping[str, int],
    *,
    target: Decimal | None,
    headcount: int | None,
    working_days: int,
) -> KpiValue:
    """The KPI's value for one entity and period.

    `totals` are the components summed over the period's buckets, `prefix` the prefix-summed
    components summed over every bucket before the period starts. `target` is the entity's
    plan for the period, used only by a ``denominator_source: target`` KPI (premium attainment
    divides written premium by it); `headcount` only by per-capita KPIs; `working_days` only
    by per-working-day KPIs. Ratios are fractions 0–1, NPS points −100…100.
    """
    if kpi.numerator is None:  # the catalogue refuses this; a hand-built definition may not
        raise ValueError(f"KPI {kpi.id!r} has no numerator")
    with localcontext(_CONTEXT):
        numerator = _read(kpi.numerator, totals, prefix)
        if kpi.subtract is not None:
            numerator -= _read(kpi.subtract, totals, prefix)
        numerator /= kpi.scale
        if kpi.denominator_from is None:  # count and sum: the numerator is the value
            return KpiValue(rounded(numerator), rounded(numerator), None)
        denominator = _denominator(
            kpi, totals, prefix, target=target, headcount=headcount, working_days=working_days
        )
        if denominator is None or denominator <= 0:
            return KpiValue(None, rounded(numerator), denominator)
        value = numerator / denominator * _MULTIPLIER.get(kpi.kind, Decimal(1))
        return KpiValue(rounded(value), rounded(numerator), rounded(denominator))


def attainment(
    value: Decimal | None, target: Decimal | None, direction: Direction
) -> Decimal | None:
    """How far a value reaches its target, 1 meaning exactly on target.

    Higher is better: value / target (0.95 renewal rate against 0.90 → 1.055556). Lower is
    better: target / value, so beating a limit also scores above 1 (4 complaints per 10,000
    against a limit of 5 → 1.25; 10 against 5 → 0.5). None when either is None or zero: a
    zero value of a lower-is-better KPI beats any limit by an unbounded factor, which the
    scorecard must cap itself (e.g. full marks).
    """
    if value is None or target is None or value == 0 or target == 0:
        return None
    with localcontext(_CONTEXT):
        ratio = value / target if direction is Direction.HIGHER_IS_BETTER else target / value
        return rounded(ratio)
