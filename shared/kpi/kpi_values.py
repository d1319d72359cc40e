"""A KPI's value for one entity and period, from its counter totals (DESIGN §5, §11).

Decimal arithmetic only, in a 40-digit context so no counter total loses a digit; results are
rounded half-even to at most six decimal places (`PLACES`), enough for a ratio shown to four
places or money kept to four, and never padded (``0.25`` stays ``0.25``). A zero, negative or
missing denominator gives no value (None), never 0 or 1: a negative one can only come from
state that started after policies were issued, and a rate against it would mean nothing.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal
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


Operands = tuple[Decimal | None, Decimal | None, Decimal | None]  # value, numerator, denominator


@dataclass(frozen=True, slots=True)
class Formula:
    """A KPI's arithmetic, read once from its definition: scoring computes tens of thousands of
    values a second, and reading the definition's properties for each was a sixth of the cost.

    Counts stay integers until they are divided: a `Decimal` of an integer has no places, so
    rounding it changes nothing and is skipped. Division and multiplication use the 40-digit
    context's own methods, which give what the operators give inside `localcontext`."""

    numerator: str
    numerator_stock: bool  # prefix-summed: read at the period start
    subtract: str | None
    subtract_stock: bool
    scale: int
    source: DenominatorSource | None
    denominator: str | None
    denominator_stock: bool
    multiplier: Decimal | None

    @classmethod
    def of(cls, kpi: KpiDefinition) -> "Formula":
        """The formula of a definition (`ValueError` without a numerator)."""
        if kpi.numerator is None:  # the catalogue refuses this; a hand-built definition may not
            raise ValueError(f"KPI {kpi.id!r} has no numerator")
        return cls(
            numerator=kpi.numerator,
            numerator_stock=kpi.numerator in PREFIX_SUMMED,
            subtract=kpi.subtract,
            subtract_stock=kpi.subtract in PREFIX_SUMMED,
            scale=kpi.scale,
            source=kpi.denominator_from,
            denominator=kpi.denominator,
            denominator_stock=kpi.denominator in PREFIX_SUMMED,
            multiplier=_MULTIPLIER.get(kpi.kind),
        )

    def operands(
        self,
        totals: Mapping[str, int],
        prefix: Mapping[str, int],
        *,
        target: Decimal | None,
        headcount: int | None,
        working_days: int,
    ) -> Operands:
        """`compute`'s value, numerator and denominator."""
        count = (prefix if self.numerator_stock else totals).get(self.numerator, 0)
        if self.subtract is not None:
            count -= (prefix if self.subtract_stock else totals).get(self.subtract, 0)
        if self.scale == 1:
            numerator = shown = Decimal(count)
        else:  # divided unrounded, shown rounded
            numerator = _CONTEXT.divide(Decimal(count), self.scale)
            shown = rounded(numerator)
        source = self.source
        if source is None:  # count and sum: the numerator is the value
            return shown, shown, None
        denominator: Decimal | None
        if source is DenominatorSource.COMPONENTS and self.denominator is not None:
            stock = prefix if self.denominator_stock else totals
            denominator = Decimal(stock.get(self.denominator, 0))
        elif source is DenominatorSource.TARGET:
            denominator = target
        elif source is DenominatorSource.HEADCOUNT:
            denominator = None if headcount is None else Decimal(headcount)
        elif source is DenominatorSource.WORKING_DAYS:
            denominator = Decimal(working_days)
        else:
            denominator = None
        if denominator is None or denominator <= 0:
            return None, shown, denominator
        value = _CONTEXT.divide(numerator, denominator)
        if self.multiplier is not None:
            value = _CONTEXT.multiply(value, self.multiplier)
        if source is DenominatorSource.TARGET:  # the others are integers
            denominator = rounded(denominator)
        return rounded(value), shown, denominator


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
    value, numerator, denominator = Formula.of(kpi).operands(
        totals, prefix, target=target, headcount=headcount, working_days=working_days
    )
    return KpiValue(value, numerator, denominator)


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
    if direction is Direction.HIGHER_IS_BETTER:
        return rounded(_CONTEXT.divide(value, target))
    return rounded(_CONTEXT.divide(target, value))
