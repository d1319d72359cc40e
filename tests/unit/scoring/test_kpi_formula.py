"""`Formula`, the arithmetic scoring runs tens of thousands of times a second, gives exactly
what the plain rule gives: every operand a Decimal, divided and multiplied inside a 40-digit
context, every figure rounded to six places. The formula keeps counts as integers (a Decimal of
an integer has no places to round) and calls the context's methods instead of switching
contexts; this test keeps the plain rule as its oracle, digits and exponent alike."""

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from pathlib import Path
from typing import Final

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.kpi.catalogue import load_catalogue
from shared.kpi.components import PREFIX_SUMMED
from shared.kpi.kpi_definition import DenominatorSource, Direction, KpiDefinition, KpiKind
from shared.kpi.kpi_values import Formula, attainment, rounded

CATALOGUE: Final = load_catalogue(Path(__file__).resolve().parents[3] / "config" / "kpis.yaml")
COMPONENTS: Final = sorted({c for kpi in CATALOGUE for c in kpi.components})
MULTIPLIER: Final = {KpiKind.RATE_PER_10K: Decimal(10000), KpiKind.NPS: Decimal(100)}
PLAIN: Final = Context(prec=40, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Inputs:
    """What a KPI's figures are computed from."""

    kpi: KpiDefinition
    totals: dict[str, int]
    prefix: dict[str, int]
    target: Decimal | None
    headcount: int | None
    working_days: int


def plain(inputs: Inputs) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    kpi, totals, prefix, target = inputs.kpi, inputs.totals, inputs.prefix, inputs.target
    headcount, working_days = inputs.headcount, inputs.working_days

    def read(name: str) -> Decimal:
        return Decimal((prefix if name in PREFIX_SUMMED else totals).get(name, 0))

    assert kpi.numerator is not None
    with localcontext(PLAIN):
        numerator = read(kpi.numerator)
        if kpi.subtract is not None:
            numerator -= read(kpi.subtract)
        numerator /= kpi.scale
        source = kpi.denominator_from
        if source is None:
            return rounded(numerator), rounded(numerator), None
        denominator: Decimal | None = {
            DenominatorSource.COMPONENTS: read(kpi.denominator) if kpi.denominator else None,
            DenominatorSource.TARGET: target,
            DenominatorSource.HEADCOUNT: None if headcount is None else Decimal(headcount),
            DenominatorSource.WORKING_DAYS: Decimal(working_days),
        }[source]
        if denominator is None or denominator <= 0:
            return None, rounded(numerator), denominator
        value = numerator / denominator * MULTIPLIER.get(kpi.kind, Decimal(1))
        return rounded(value), rounded(numerator), rounded(denominator)


def plain_attainment(
    value: Decimal | None, target: Decimal | None, direction: Direction
) -> Decimal | None:
    if value is None or target is None or value == 0 or target == 0:
        return None
    with localcontext(PLAIN):
        return rounded(
            value / target if direction is Direction.HIGHER_IS_BETTER else target / value
        )


counts = st.dictionaries(st.sampled_from(COMPONENTS), st.integers(-50, 10**12), max_size=8)
targets = st.one_of(
    st.none(),
    st.decimals(min_value=Decimal("-5"), max_value=Decimal("1E+7"), places=8, allow_nan=False),
    st.sampled_from([Decimal("2E+2"), Decimal("0.25"), Decimal("5"), Decimal(0)]),
)


inputs = st.builds(
    Inputs,
    kpi=st.sampled_from(list(CATALOGUE)),
    totals=counts,
    prefix=counts,
    target=targets,
    headcount=st.one_of(st.none(), st.integers(0, 400)),
    working_days=st.integers(0, 260),
)


@settings(max_examples=300)
@given(case=inputs)
def test_the_formula_gives_the_plain_rule_s_figures_to_the_digit(case: Inputs) -> None:
    fast = Formula.of(case.kpi).operands(
        case.totals,
        case.prefix,
        target=case.target,
        headcount=case.headcount,
        working_days=case.working_days,
    )
    slow = plain(case)

    assert [str(x) for x in fast] == [str(x) for x in slow]
    assert str(attainment(fast[0], case.target, case.kpi.direction)) == str(
        plain_attainment(slow[0], case.target, case.kpi.direction)
    )
