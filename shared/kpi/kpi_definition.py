"""One KPI of the catalogue (DESIGN §5): what it divides by what, in which unit, and which way
is better. The catalogue file (`config/kpis.yaml`) is a list of these; `catalogue.py` loads it
and checks what one entry cannot check alone (known components, the kind's operands, ids).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Annotated, Final

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .effective import check_effective_from
from .fiscal_calendar import PeriodKind


class KpiKind(StrEnum):
    """How a KPI's value is computed from its operands (see `kpi_values.compute`)."""

    RATIO = "ratio"  # numerator / denominator (or / the plan, with denominator_source: target)
    TOP_BOX_SHARE = "top_box_share"  # top-box responses / responses
    COHORT_RATIO = "cohort_ratio"  # persisting / cohort size, by anniversary month
    MEAN = "mean"  # Σ scores / count
    MEAN_DURATION_DAYS = "mean_duration_days"  # Σ seconds / count, in days
    RATE_PER_10K = "rate_per_10k"  # numerator / denominator × 10,000
    NPS = "nps"  # (promoters − detractors) / responses × 100
    COUNT = "count"  # the numerator itself
    SUM = "sum"  # the numerator itself, unscaled (money, hours)
    PER_CAPITA = "per_capita"  # numerator / headcount
    PER_WORKING_DAY = "per_working_day"  # numerator / Monday–Friday days of the period


class Direction(StrEnum):
    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"


class Unit(StrEnum):
    """The unit a KPI's value (and its target) is written in."""

    RATIO = "ratio"  # a fraction, 0.9 = 90 %
    MONEY = "money"  # the company's currency, a decimal
    DAYS = "days"
    COUNT = "count"
    POINTS = "points"  # scores 0–100, NPS −100…100
    PER_10K = "per_10k"
    PER_DAY = "per_day"
    HOURS = "hours"


class DenominatorSource(StrEnum):
    """Where a KPI's denominator comes from."""

    COMPONENTS = "components"  # the `denominator` counter component
    TARGET = "target"  # the entity's plan for the period (the targets file)
    HEADCOUNT = "headcount"  # the org chart's headcount of the entity
    WORKING_DAYS = "working_days"  # Monday–Friday days of the period


@dataclass(frozen=True, slots=True)
class KindRule:
    """The operands a kind takes: the denominator sources it allows (the first is the
    default; none means it divides by nothing) and whether it subtracts a component."""

    sources: tuple[DenominatorSource, ...]
    subtract: bool = False


_FROM_COMPONENTS: Final = KindRule((DenominatorSource.COMPONENTS,))
KIND_RULES: Final[Mapping[KpiKind, KindRule]] = {
    KpiKind.RATIO: KindRule((DenominatorSource.COMPONENTS, DenominatorSource.TARGET)),
    KpiKind.TOP_BOX_SHARE: _FROM_COMPONENTS,
    KpiKind.COHORT_RATIO: _FROM_COMPONENTS,
    KpiKind.MEAN: _FROM_COMPONENTS,
    KpiKind.MEAN_DURATION_DAYS: _FROM_COMPONENTS,
    KpiKind.RATE_PER_10K: _FROM_COMPONENTS,
    KpiKind.NPS: KindRule((DenominatorSource.COMPONENTS,), subtract=True),
    KpiKind.COUNT: KindRule(()),
    KpiKind.SUM: KindRule(()),
    KpiKind.PER_CAPITA: KindRule((DenominatorSource.HEADCOUNT,)),
    KpiKind.PER_WORKING_DAY: KindRule((DenominatorSource.WORKING_DAYS,)),
}
# Kinds whose values add up over months, so a yearly target can be spread over shorter periods.
ADDITIVE_KINDS: Final = frozenset({KpiKind.COUNT, KpiKind.SUM})

KPI_ID_PATTERN: Final = r"^[a-z][a-z0-9_]{0,63}$"
SEED_ID_PATTERN: Final = r"^\d{3}$"
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
TargetValue = Annotated[Decimal, Field(allow_inf_nan=False)]
# A fiscal period or month from which a version of a definition is in force (`effective.py`).
EffectiveFrom = Annotated[str, Field(strict=True), AfterValidator(check_effective_from)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Labels(_Frozen):
    """The KPI's display name in English, Chinese and Japanese."""

    en: Label
    zh: Label
    ja: Label


class Veto(_Frozen):
    """A limit that caps a scorecard's grade however good the rest is (DESIGN §6)."""

    below: TargetValue | None = None
    above: TargetValue | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> "Veto":
        if (self.below is None) == (self.above is None):
            raise PydanticCustomError(
                "veto_bound",
                "give exactly one of below or above, e.g. veto: {below: 0.85}",
            )
        return self

    def applies(self, value: Decimal | None) -> bool:
        """Whether a value breaks the limit; a KPI without a value vetoes nothing."""
        if value is None:
            return False
        if self.below is not None:
            return value < self.below
        return self.above is not None and value > self.above


class KpiDefinition(_Frozen):
    """One catalogue entry. Operands name counter components (`components.C`); a
    prefix-summed component is read at the period start (e.g. policies in force)."""

    id: Annotated[str, StringConstraints(pattern=KPI_ID_PATTERN)]
    labels: Labels
    kind: KpiKind
    direction: Direction
    unit: Unit
    numerator: Annotated[str, Field(strict=True)] | None = None
    subtract: Annotated[str, Field(strict=True)] | None = None
    denominator: Annotated[str, Field(strict=True)] | None = None
    denominator_source: DenominatorSource | None = None
    scale: Annotated[int, Field(ge=1, strict=True)] = 1
    default_target: TargetValue | None = None
    target_per: PeriodKind | None = None
    veto: Veto | None = None
    source: tuple[Annotated[str, StringConstraints(pattern=SEED_ID_PATTERN)], ...] = ()
    effective_from: EffectiveFrom | None = None

    @property
    def denominator_from(self) -> DenominatorSource | None:
        """Where the denominator comes from; None for a kind that divides by nothing."""
        rule = KIND_RULES[self.kind]
        if not rule.sources:
            return None
        return self.denominator_source or rule.sources[0]

    @property
    def components(self) -> tuple[str, ...]:
        """The counter components this KPI reads."""
        operands = (self.numerator, self.subtract, self.denominator)
        return tuple(name for name in operands if name is not None)

    def label(self, language: str) -> str:
        """The display name in ``en``, ``zh`` or ``ja`` (`ValueError` for another language)."""
        names = {"en": self.labels.en, "zh": self.labels.zh, "ja": self.labels.ja}
        if language not in names:
            raise ValueError(f"no label in {language!r}; labels are en, zh and ja")
        return names[language]

    def target_for(self, kind: PeriodKind) -> Decimal | None:
        """The default target for a period of `kind`.

        A target stated for a longer period (`target_per`, e.g. 100 compliments a fiscal year)
        is spread evenly over its months: a quarter gets 25. Other targets hold as they are.
        """
        if self.default_target is None or self.target_per is None:
            return self.default_target
        return _six_places(self.default_target * kind.months / self.target_per.months)

    def target_for_days(self, days: int) -> Decimal | None:
        """The default target for a rolling window of `days` days: a target stated for a longer
        period (`target_per`) is spread over its days (a fiscal year has 365.25 on average);
        other targets (rates, means, thresholds) hold as they are."""
        if self.default_target is None or self.target_per is None:
            return self.default_target
        per_days = Decimal("365.25") * self.target_per.months / 12
        return _six_places(self.default_target * days / per_days)


def _six_places(value: Decimal) -> Decimal:
    # Six places, like KPI values (a month's share of 100 a year is 8.333333); normalize()
    # drops trailing zeros and + 0 undoes its exponent notation (1E+2 → 100).
    return value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN).normalize() + 0
