"""A realistic branch scorecard page for the renderer tests, the browser test and the committed
screenshot (docs/scorecard.png): branch:B03 in March 2025, twelve branches ranked, twelve
months of trend, optionally with both vetoes, named as config/org.yaml names it."""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from services.reporting.render import (
    Language,
    QuadrantChart,
    QuadrantPoint,
    ScorecardPage,
    TrendPoint,
    kpi_labels_from,
    kpi_units_from,
)
from shared.config.loading import load_org
from shared.kpi.catalogue import load_catalogue
from shared.messages.scorecard import (
    Category,
    Grade,
    KpiLine,
    Labels,
    Scorecard,
    ScorecardStatus,
    Trend,
    Veto,
)

ENTITY = "branch:B03"
PERIOD = "2025-03"
PROFILE = "branch"
CONFIG = Path(__file__).resolve().parents[2] / "config" / "kpis.yaml"
ORG = CONFIG.with_name("org.yaml")

_D = Decimal
_CENT = _D("0.01")

# kpi, category, weight, actual, target, lower is better
_LINES: tuple[tuple[str, Category, str, str | None, str], ...] = (
    ("premium_attainment", Category.PERFORMANCE, "25", "0.9612", "1.0"),
    ("new_business_premium", Category.PERFORMANCE, "15", "4318250.50", "4500000"),
    ("per_capita_premium", Category.PERFORMANCE, "10", "186420.75", "180000"),
    ("persistency_13m", Category.PERFORMANCE, "15", "0.9345", "0.92"),
    ("complaint_rate_per_10k", Category.CUSTOMER_SERVICE, "10", "3.80", "5"),
    ("survey_top_box", Category.CUSTOMER_SERVICE, "10", "0.6830", "0.70"),
    ("complaint_resolution_days", Category.CUSTOMER_SERVICE, "5", None, "5"),
    ("training_hours", Category.CAPABILITY, "10", "36.5", "40"),
)
# With vetoes, the two KPIs that break their limits (the rest stays as it is).
_VETOED = {
    "persistency_13m": ("persistency_13m", Category.PERFORMANCE, "15", "0.8310", "0.92"),
    "complaint_rate_per_10k": (
        "complaint_rate_per_10k",
        Category.CUSTOMER_SERVICE,
        "10",
        "6.40",
        "5",
    ),
}
_LOWER_IS_BETTER = frozenset({"complaint_rate_per_10k", "complaint_resolution_days"})

_PEERS: tuple[tuple[str, str, str], ...] = (
    ("branch:B01", "0.9420", "88.1"),
    ("branch:B02", "0.8710", "86.4"),
    (ENTITY, "0.9235", "87.6"),
    ("branch:B04", "0.9050", "82.3"),
    ("branch:B05", "0.8380", "79.8"),
    ("branch:B06", "0.8890", "84.2"),
    ("branch:B07", "0.9310", "90.4"),
    ("branch:B08", "0.8560", "88.9"),
    ("branch:B09", "0.9160", "81.0"),
    ("branch:B10", "0.8020", "83.5"),
    ("branch:B11", "0.8840", "91.2"),
    ("branch:B12", "0.9480", "85.7"),
)
_TREND = (
    ("2024-04", "81.20"),
    ("2024-05", "83.45"),
    ("2024-06", "79.10"),
    ("2024-07", "84.60"),
    ("2024-08", "86.05"),
    ("2024-09", "85.30"),
    ("2024-10", "88.70"),
    ("2024-11", "87.95"),
    ("2024-12", "90.40"),
    ("2025-01", "89.15"),
    ("2025-02", "88.36"),
)

STARS = Labels(en="Stars", zh="明星", ja="スター")
STARS_COACHING = Labels(
    en="Reward them and let them share their experience, e.g. success stories in internal "
    "training.",
    zh="给予奖励和分享经验的机会,如让他们在内部培训中分享成功案例。",
    ja="報奨を与え、社内研修で成功事例を共有するなど、経験を伝える機会を設ける。",
)
QUADRANT_NAMES = {
    (True, True): STARS,
    (True, False): Labels(
        en="Results, weak service", zh="业绩好 - 服务弱", ja="業績良・サービス弱"
    ),
    (False, True): Labels(en="Service, weak sales", zh="服务好 - 销售弱", ja="サービス良・販売弱"),
    (False, False): Labels(en="Focus group", zh="重点关注", ja="重点指導"),
}

PERSISTENCY_VETO = Veto(
    kpi="persistency_13m",
    reason="13-month persistency 83.10% is below the 85.00% floor",
    reasons=Labels(
        en="13-month persistency 83.10% is below the 85.00% floor",
        zh="13个月继续率 83.10% 低于 85.00% 的底线",
        ja="13ヶ月継続率 83.10% が下限 85.00% を下回っています",
    ),
    actual=_D("0.8310"),
    limit=_D("0.85"),
)
COMPLAINT_VETO = Veto(
    kpi="complaint_rate_per_10k",
    reason="Complaints 6.40 per 10,000 policies exceed the limit of 5.00",
    reasons=Labels(
        en="Complaints 6.40 per 10,000 policies exceed the limit of 5.00",
        zh="万件投诉率 6.40 超过上限 5.00",
        ja="苦情件数(1万件あたり)6.40 が上限 5.00 を超えています",
    ),
    actual=_D("6.40"),
    limit=_D("5"),
)


def _line(kpi: str, category: Category, weight: str, actual: str | None, target: str) -> KpiLine:
    actual_value = None if actual is None else _D(actual)
    target_value = _D(target)
    attainment = None
    if actual_value is not None:
        ratio = (
            target_value / actual_value if kpi in _LOWER_IS_BETTER else actual_value / target_value
        )
        attainment = ratio.quantize(_D("0.0001"), rounding=ROUND_HALF_UP)
    share = min(attainment or _D(0), _D("1.0"))
    points = (_D(weight) * share).quantize(_CENT, rounding=ROUND_HALF_UP)
    return KpiLine(
        kpi=kpi,
        category=category,
        weight=_D(weight),
        method="proportional",
        actual=actual_value,
        target=target_value,
        attainment=attainment,
        points=points,
    )


def sample_scorecard(*, vetoes: bool = False, assessment: bool = True) -> Scorecard:
    """branch:B03's March 2025 scorecard: rank 3 of 12, up from February; Excellent, or with
    `vetoes` (persistency and complaints past their limits) capped at Qualified."""
    specs = [_VETOED.get(spec[0], spec) if vetoes else spec for spec in _LINES]
    lines = [_line(*spec) for spec in specs]
    quantitative = sum((line.points for line in lines), _D(0))
    qualitative = _D("95.00") if assessment else None
    final = (quantitative * _D("0.7") + (qualitative or quantitative) * _D("0.3")).quantize(
        _CENT, rounding=ROUND_HALF_UP
    )
    grade = (
        Grade.EXCELLENT
        if final >= 90
        else Grade.QUALIFIED
        if final >= 80
        else Grade.NEEDS_IMPROVEMENT
    )
    return Scorecard(
        scorecard_id=Scorecard.make_id(ENTITY, PERIOD, PROFILE, 2),
        entity=ENTITY,
        period=PERIOD,
        profile=PROFILE,
        revision=2,
        status=ScorecardStatus.REVISED,
        quantitative_score=quantitative,
        qualitative_score=qualitative,
        qualitative_note=None
        if assessment
        else "No assessment this period: the quantitative score stands in for it",
        final_score=final,
        grade=Grade.QUALIFIED if vetoes and grade is Grade.EXCELLENT else grade,
        grade_capped=vetoes and grade is Grade.EXCELLENT,
        vetoes=[PERSISTENCY_VETO, COMPLAINT_VETO] if vetoes else [],
        rank=3,
        peers=12,
        previous_final_score=_D(_TREND[-1][1]),
        trend=Trend.UP if final > _D(_TREND[-1][1]) else Trend.DOWN,
        quadrant="star",
        quadrant_labels=STARS,
        coaching=STARS_COACHING,
        kpis=lines,
        activity=True,
        notes=[
            "complaint_resolution_days: no complaint was closed this period, so it has no value"
        ],
        as_of=datetime(2025, 4, 3, 2, 0, tzinfo=UTC),
    )


def sample_page(
    *,
    language: Language = "en",
    vetoes: bool = False,
    assessment: bool = True,
    named: bool = True,
) -> ScorecardPage:
    """The sample scorecard with its peers, twelve months of trend and the catalogue's names;
    `named`: with the branch's name from config/org.yaml in the page's language."""
    catalogue = load_catalogue(CONFIG)
    card = sample_scorecard(vetoes=vetoes, assessment=assessment)
    quadrant = QuadrantChart(
        x_kpi="renewal_rate",
        y_kpi="satisfaction_mean",
        x_split=_D("0.90"),
        y_split=_D("85"),
        points=tuple(QuadrantPoint(e, _D(x), _D(y)) for e, x, y in _PEERS),
        names=QUADRANT_NAMES,
    )
    trend = (*(TrendPoint(p, _D(s)) for p, s in _TREND), TrendPoint(PERIOD, card.final_score))
    return ScorecardPage(
        scorecard=card,
        kpi_labels=kpi_labels_from(catalogue),
        kpi_units=kpi_units_from(catalogue),
        quadrant=quadrant,
        trend=trend,
        language=language,
        profile_name=Labels(en="Branch", zh="支公司", ja="支社"),
        entity_name=load_org(ORG).name(ENTITY, language) if named else None,
    )


def with_scorecard(page: ScorecardPage, **changes: object) -> ScorecardPage:
    """The page with some fields of its scorecard changed (validated again)."""
    data = page.scorecard.model_dump() | changes
    return replace(page, scorecard=Scorecard.model_validate(data))
