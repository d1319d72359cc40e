"""The fields of `config/scorecards.yaml`, each checked on its own (see the file's header).

What one field cannot check alone — KPI ids against the catalogue, weights adding up to 100,
category shares, profile names in `assign` — is checked by `profiles.ScorecardConfig`.
Model-level errors are written ``field: what is wrong and the fix`` so the loader can name the
field they belong to.
"""

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Final, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    model_validator,
)
from pydantic_core import PydanticCustomError

from shared.config.org import Level
from shared.kpi.kpi_definition import EffectiveFrom
from shared.messages.scorecard import Category, Labels

PROFILE_ID_PATTERN: Final = r"^[a-z][a-z0-9_]{0,63}$"
QUADRANT_IDS: Final = ("high_high", "high_low", "low_high", "low_low")

Number = Annotated[Decimal, Field(allow_inf_nan=False)]
Amount = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
# Tags of the unions below; they appear in error paths and the loader drops them from there.
UNION_TAGS: Final = frozenset({"<one>", "<by_level>", "<fixed>", "<yearly>", "<grid>", "<none>"})
Percent = Annotated[Decimal, Field(ge=0, le=100, allow_inf_nan=False)]
Share = Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False)]
ProfileId = Annotated[str, StringConstraints(pattern=PROFILE_ID_PATTERN)]
KpiId = Annotated[str, StringConstraints(min_length=1)]


def _problem(message: str) -> PydanticCustomError:
    # `{message}` keeps braces in the text from being read as placeholders.
    return PydanticCustomError("scorecard_rule", "{message}", {"message": message})


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Method(StrEnum):
    """How a KPI's points are computed (DESIGN §6)."""

    PROPORTIONAL = "proportional"
    BANDS = "bands"


class BandMeasure(StrEnum):
    """What a band compares: the attainment against the target, or the KPI's own value."""

    ATTAINMENT = "attainment"
    VALUE = "value"


class Split(_Frozen):
    """How the final score weighs the quantitative and the qualitative part, out of 100."""

    quantitative: Percent
    qualitative: Percent

    @model_validator(mode="after")
    def _whole(self) -> Self:
        total = self.quantitative + self.qualitative
        if total != 100:
            raise _problem(
                f"quantitative: quantitative {self.quantitative} and qualitative "
                f"{self.qualitative} add up to {total}, not 100; e.g. "
                "{quantitative: 70, qualitative: 30}"
            )
        return self


class FallbackUse(StrEnum):
    QUANTITATIVE = "quantitative"
    FIXED = "fixed"


class QualitativeFallback(_Frozen):
    """What stands in for the qualitative part when a period has no assessment."""

    use: FallbackUse
    value: Percent | None = None

    @model_validator(mode="after")
    def _value_for_fixed(self) -> Self:
        if self.use is FallbackUse.FIXED and self.value is None:
            raise _problem("value: use: fixed needs a value 0–100, e.g. {use: fixed, value: 80}")
        if self.use is FallbackUse.QUANTITATIVE and self.value is not None:
            raise _problem("value: use: quantitative takes no value; remove it")
        return self


class GradeBands(_Frozen):
    """The lowest final score of each grade; below `qualified` is needs_improvement."""

    excellent: Percent = Decimal(90)
    qualified: Percent = Decimal(80)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.excellent <= self.qualified:
            raise _problem(
                f"excellent: must be above qualified ({self.excellent} ≤ {self.qualified}); "
                "e.g. {excellent: 90, qualified: 80}"
            )
        return self


_Range = tuple[Percent, Percent]


class CategoryShares(_Frozen):
    """[lowest, highest] share of a profile's 100 points per category (DESIGN §6)."""

    performance: _Range = (Decimal(60), Decimal(70))
    customer_service: _Range = (Decimal(20), Decimal(30))
    capability: _Range = (Decimal(10), Decimal(20))

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        for category in Category:
            low, high = self.range(category)
            if low > high:
                raise _problem(
                    f"{category.value}: the lowest share {low} is above the highest {high}; "
                    "write [lowest, highest], e.g. [60, 70]"
                )
        return self

    def range(self, category: Category) -> tuple[Decimal, Decimal]:
        """(lowest, highest) points the category may hold."""
        low, high = getattr(self, category.value)
        return low, high


class Band(_Frozen):
    """One band: from `at_least` (or up to `at_most`) the KPI earns `share` of its weight."""

    at_least: Number | None = None
    at_most: Number | None = None
    share: Share

    @model_validator(mode="after")
    def _one_bound(self) -> Self:
        if (self.at_least is None) == (self.at_most is None):
            raise _problem(
                "at_least: give exactly one of at_least or at_most, e.g. {at_least: 0.9, share: 1}"
            )
        return self

    @property
    def bound(self) -> Decimal:
        """The band's threshold, whichever way it points."""
        bound = self.at_least if self.at_least is not None else self.at_most
        assert bound is not None  # guaranteed by _one_bound
        return bound


class YearlyTarget(_Frozen):
    """A yearly baseline, prorated to the period's months (count, sum and per-capita KPIs)."""

    per_year: Annotated[
        Annotated[Amount, Tag("<one>")] | Annotated[dict[Level, Amount], Tag("<by_level>")],
        Discriminator(lambda v: "<by_level>" if isinstance(v, dict) else "<one>"),
    ]
    regional: bool = False
    per_head: bool = False

    def baseline(self, level: Level) -> Decimal | None:
        """The yearly baseline for an entity of `level` (None when the level has none)."""
        if isinstance(self.per_year, dict):
            return self.per_year.get(level)
        return self.per_year


TargetSpec = Annotated[
    Annotated[Number, Tag("<fixed>")] | Annotated[YearlyTarget, Tag("<yearly>")],
    Discriminator(lambda v: "<yearly>" if isinstance(v, dict | YearlyTarget) else "<fixed>"),
]


class ProfileKpi(_Frozen):
    """One weighted KPI of a profile."""

    kpi: KpiId
    category: Category
    weight: Annotated[Decimal, Field(gt=0, le=100, decimal_places=2, allow_inf_nan=False)]
    method: Method
    cap: Annotated[Decimal, Field(ge=1, le=2, allow_inf_nan=False)] | None = None
    measure: BandMeasure | None = None
    bands: Annotated[tuple[Band, ...], Field(min_length=1)] | None = None
    target: TargetSpec | None = None

    @model_validator(mode="after")
    def _method_fields(self) -> Self:
        if self.method is Method.PROPORTIONAL:
            if self.bands is not None or self.measure is not None:
                raise _problem("method: proportional takes no bands or measure; remove them")
            return self
        if self.cap is not None:
            raise _problem("cap: method bands takes no cap; the top band's share is the most")
        if self.bands is None:
            raise _problem(
                "bands: method bands needs bands, best first, e.g. "
                "[{at_least: 0.9, share: 1}, {at_least: 0.8, share: 0.6}]"
            )
        for earlier, later in zip(self.bands, self.bands[1:], strict=False):
            if later.share > earlier.share:
                raise _problem(
                    "bands: list the bands best first: a later band's share "
                    f"{later.share} is above an earlier one's {earlier.share}"
                )
            if (later.at_least is None) != (earlier.at_least is None):
                raise _problem("bands: use at_least in every band, or at_most in every band")
            if later.at_least is not None and earlier.at_least is not None:
                if later.at_least >= earlier.at_least:
                    raise _problem(
                        "bands: list the bands best first: at_least "
                        f"{later.at_least} follows {earlier.at_least}"
                    )
            elif later.bound <= earlier.bound:
                raise _problem(
                    f"bands: list the bands best first: at_most {later.bound} follows "
                    f"{earlier.bound}"
                )
        return self

    @property
    def effective_cap(self) -> Decimal:
        """The proportional cap (1 unless set)."""
        return self.cap if self.cap is not None else Decimal(1)

    @property
    def band_measure(self) -> BandMeasure:
        """What bands compare (attainment unless set)."""
        return self.measure or BandMeasure.ATTAINMENT


class QuadrantAxis(_Frozen):
    """One axis of the coaching grid: a KPI and, optionally, where it splits."""

    kpi: KpiId
    split_at: Number | None = None


class QuadrantTexts(_Frozen):
    """One text in en/zh/ja per quadrant; ids name the x axis first (high_low: high x, low y)."""

    high_high: Labels
    high_low: Labels
    low_high: Labels
    low_low: Labels

    def of(self, quadrant: str) -> Labels:
        """The text of a quadrant id."""
        if quadrant not in QUADRANT_IDS:
            raise KeyError(f"no quadrant {quadrant!r}; quadrants are {', '.join(QUADRANT_IDS)}")
        labels: Labels = getattr(self, quadrant)
        return labels


class QuadrantScheme(_Frozen):
    """The coaching grid of `defaults`: axes, quadrant names and coaching actions."""

    x: QuadrantAxis
    y: QuadrantAxis
    labels: QuadrantTexts
    coaching: QuadrantTexts


class ProfileQuadrants(_Frozen):
    """A profile's own grid; texts it leaves out come from `defaults`."""

    x: QuadrantAxis
    y: QuadrantAxis
    labels: QuadrantTexts | None = None
    coaching: QuadrantTexts | None = None


class Defaults(_Frozen):
    """What every profile uses unless it sets the same field."""

    split: Split = Split(quantitative=Decimal(70), qualitative=Decimal(30))
    qualitative_fallback: QualitativeFallback = QualitativeFallback(use=FallbackUse.QUANTITATIVE)
    grades: GradeBands = GradeBands()
    category_shares: CategoryShares = CategoryShares()
    trend_flat_within: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)] = Decimal("0.5")
    quadrants: QuadrantScheme | None = None


class ProfileDocument(_Frozen):
    """One profile as written in the file."""

    id: ProfileId
    labels: Labels
    kpis: Annotated[tuple[ProfileKpi, ...], Field(min_length=1)]
    vetoes: tuple[KpiId, ...] | None = None
    split: Split | None = None
    qualitative_fallback: QualitativeFallback | None = None
    grades: GradeBands | None = None
    trend_flat_within: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)] | None = None
    quadrants: (
        Annotated[
            Annotated[ProfileQuadrants, Tag("<grid>")] | Annotated[Literal["none"], Tag("<none>")],
            Discriminator(lambda v: "<none>" if isinstance(v, str) else "<grid>"),
        ]
        | None
    ) = None
    effective_from: EffectiveFrom | None = None


class Assign(_Frozen):
    """Which profile an entity uses: by entity first, else by level."""

    levels: dict[Level, ProfileId] = Field(default_factory=dict)
    entities: dict[str, ProfileId] = Field(default_factory=dict)
