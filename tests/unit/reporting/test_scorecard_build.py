"""One scorecard from scoring's figures: points, the 70/30 split with its fallback, grades
capped by vetoes, targets replaced by the profile, and notes for what is missing."""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Final

from hypothesis import given, settings
from hypothesis import strategies as st

from services.reporting.domain.build import KpiFigures, KpiReading, ScorecardInputs, build_scorecard
from services.reporting.domain.config_models import FallbackUse, QualitativeFallback
from services.reporting.domain.profiles import Profile, load_profiles
from shared.kpi.catalogue import load_catalogue
from shared.messages import Score
from shared.messages.scorecard import Grade, Scorecard, ScorecardStatus, Trend

D = Decimal
CONFIG_DIR: Final = Path(__file__).resolve().parents[3] / "config"
CATALOGUE: Final = load_catalogue(CONFIG_DIR / "kpis.yaml")
PROFILES: Final = load_profiles(CONFIG_DIR, CATALOGUE)
CLERK: Final = PROFILES["renewal_clerk"]
BRANCH: Final = PROFILES["branch"]
AS_OF: Final = datetime(2024, 6, 8, 0, 0, tzinfo=UTC)
STRONG: Final = D("1.1")  # the coefficient of a strong region
EXCELLENT_ASSESSMENT: Final = D(95)

# A renewal clerk exactly on every target: 100 quantitative points.
ON_TARGET: Final[dict[str, KpiReading]] = {
    "renewal_rate": KpiFigures(D("0.90"), D("0.90")),
    "renewal_premium": KpiFigures(D("1466666.67"), None),  # the profile sets this target
    "complaint_rate_per_10k": KpiFigures(D(5), D(5)),
    "satisfaction_mean": KpiFigures(D(85), D(85)),
    "renewal_cycle_days": KpiFigures(D(14), D(14)),
    "contacts_per_day": KpiFigures(D(20), D(20)),
}


def inputs(
    readings: dict[str, KpiReading] | None = None,
    *,
    entity: str = "agent:A0001",
    period: str = "2024-05",
    assessment: Decimal | None = None,
    previous: Decimal | None = None,
    activity: bool = True,
    coefficient: Decimal | None = STRONG,
    headcount: int | None = 1,
) -> ScorecardInputs:
    return ScorecardInputs(
        entity=entity,
        period=period,
        readings=ON_TARGET if readings is None else readings,
        revision=1,
        status=ScorecardStatus.PROVISIONAL,
        activity=activity,
        as_of=AS_OF,
        assessment=assessment,
        previous_final_score=previous,
        coefficient=coefficient,
        headcount=headcount,
    )


def build(data: ScorecardInputs, profile: Profile = CLERK) -> Scorecard:
    return build_scorecard(data, profile, CATALOGUE)


def with_readings(**changes: KpiReading) -> dict[str, KpiReading]:
    return {**ON_TARGET, **changes}


def line(card: Scorecard, kpi: str) -> tuple[Decimal | None, Decimal | None, Decimal]:
    found = next(item for item in card.kpis if item.kpi == kpi)
    return found.target, found.attainment, found.points


# --- points and the split -----------------------------------------------------------------


def test_on_every_target_earns_100_points() -> None:
    card = build(inputs(assessment=D(100)))
    assert [item.points for item in card.kpis] == [
        D("40.00"), D("25.00"), D("10.00"), D("15.00"), D("5.00"), D("5.00")
    ]  # fmt: skip
    assert card.quantitative_score == D("100.00")
    assert card.final_score == D("100.00")
    assert card.grade is Grade.EXCELLENT


def test_final_is_70_percent_quantitative_plus_30_percent_qualitative() -> None:
    # Renewal rate 0.85 is in the 80–90 % band: 40 × 0.6 = 24, so 84 quantitative points.
    card = build(
        inputs(with_readings(renewal_rate=KpiFigures(D("0.85"), D("0.90"))), assessment=D(60))
    )
    assert card.quantitative_score == D("84.00")
    assert card.qualitative_score == D(60)
    assert card.final_score == D("76.80")  # 84 × 0.7 + 60 × 0.3 = 58.8 + 18
    assert card.grade is Grade.NEEDS_IMPROVEMENT
    assert card.qualitative_note is None


def test_without_an_assessment_the_quantitative_score_stands_in_and_the_card_says_so() -> None:
    card = build(inputs(with_readings(renewal_rate=KpiFigures(D("0.85"), D("0.90")))))
    assert card.qualitative_score is None
    assert card.final_score == D("84.00")
    assert card.qualitative_note == (
        "No assessment for 2024-05: the qualitative part (30%) uses the quantitative score 84.00"
    )


def test_a_fixed_fallback_is_applied_and_named() -> None:
    fixed = QualitativeFallback(use=FallbackUse.FIXED, value=D(50))
    profile = replace(CLERK, qualitative_fallback=fixed)
    card = build(inputs(), profile)
    assert card.final_score == D("85.00")  # 100 × 0.7 + 50 × 0.3
    assert card.qualitative_note == (
        "No assessment for 2024-05: the qualitative part (30%) uses the fixed score 50"
    )


def test_the_split_is_exact_at_the_grade_boundaries() -> None:
    # 90 quantitative (renewal premium at 60 %: 15 of 25) and an assessment of 90 → 90.00.
    premium = KpiFigures(D("880000.00"), None)  # 60 % of the 1,466,666.67 monthly target
    card = build(inputs(with_readings(renewal_premium=premium), assessment=D(90)))
    assert card.quantitative_score == D("90.00")
    assert (card.final_score, card.grade) == (D("90.00"), Grade.EXCELLENT)
    card = build(inputs(with_readings(renewal_premium=premium), assessment=D("89.97")))
    assert (card.final_score, card.grade) == (D("89.99"), Grade.QUALIFIED)


# --- targets ------------------------------------------------------------------------------


def test_a_profile_target_replaces_scorings_and_the_attainment_follows() -> None:
    # Seed 004: the service centre's satisfaction target is 95, not scoring's 85.
    centre = PROFILES["service_centre"]
    score = Score(
        score_id="s1",
        entity="team:T01",
        period="2024-05",
        kpi="satisfaction_mean",
        value=D("90.25"),
        numerator=D("3610"),
        denominator=D(40),
        target=D(85),
        attainment=D("1.061765"),
        revision=1,
        as_of=AS_OF,
    )
    card = build(inputs({"satisfaction_mean": score}, entity="team:T01", headcount=8), centre)
    target, attainment, points = line(card, "satisfaction_mean")
    assert (target, attainment) == (D(95), D("0.95"))
    assert points == D("9.00")  # the 0.9–1 band: 60 % of 15


def test_the_regional_baseline_is_prorated_and_scaled_by_the_coefficient() -> None:
    strong = build(inputs(coefficient=D("1.1")))
    developing = build(inputs(coefficient=D("0.9")))
    assert line(strong, "renewal_premium")[0] == D("1466666.67")  # 16 M × 1.1 / 12
    assert line(developing, "renewal_premium")[0] == D("1200000.00")  # 16 M × 0.9 / 12
    yearly = build(inputs(period="FY2024", coefficient=D("0.9")))
    assert line(yearly, "renewal_premium")[0] == D("14400000.00")


def test_lower_is_better_kpis_use_the_inverted_attainment() -> None:
    card = build(inputs(with_readings(renewal_cycle_days=KpiFigures(D(20), D(14)))))
    target, attainment, points = line(card, "renewal_cycle_days")
    assert (target, attainment, points) == (D(14), D("0.7"), D("3.50"))


# --- what is missing ----------------------------------------------------------------------


def test_a_kpi_without_a_value_earns_nothing_and_is_noted() -> None:
    readings = with_readings(satisfaction_mean=KpiFigures(None, D(85)))
    del readings["contacts_per_day"]
    card = build(inputs(readings))
    assert line(card, "satisfaction_mean")[2] == D("0.00")
    assert line(card, "contacts_per_day") == (D(20), None, D("0.00"))  # the catalogue's target
    assert card.quantitative_score == D("80.00")
    assert card.notes == [
        "satisfaction_mean: no value for 2024-05; it earns 0 of 15 points",
        "contacts_per_day: no value for 2024-05; it earns 0 of 5 points",
    ]
    assert card.quadrant is None  # satisfaction is an axis


def test_a_quiet_entity_gets_a_scorecard_that_says_so() -> None:
    card = build(inputs({}, activity=False))
    assert card.quantitative_score == D("0.00")
    assert card.grade is Grade.NEEDS_IMPROVEMENT
    assert card.activity is False
    assert card.notes[0] == "No event reached agent:A0001 in 2024-05: KPIs without a value earn 0"
    assert len(card.notes) == 1 + len(CLERK.kpis)


def test_a_missing_coefficient_leaves_a_regional_target_empty_and_says_why() -> None:
    card = build(inputs(coefficient=None))
    assert line(card, "renewal_premium") == (None, None, D("0.00"))
    assert card.notes == [
        "renewal_premium: no target (no region coefficient for the entity); it earns 0 of 25 points"
    ]


def test_no_complaints_at_all_earn_full_marks_with_a_note() -> None:
    card = build(inputs(with_readings(complaint_rate_per_10k=KpiFigures(D(0), D(5)))))
    assert line(card, "complaint_rate_per_10k") == (D(5), None, D("10.00"))
    assert card.notes == [
        "complaint_rate_per_10k: 0 against a target of 5 beats it outright; it earns 10.00 of "
        "10 points"
    ]


# --- vetoes, trend, identity --------------------------------------------------------------


def branch_readings(**changes: KpiReading) -> dict[str, KpiReading]:
    readings: dict[str, KpiReading] = {
        "premium_attainment": KpiFigures(D("1.02"), D(1)),
        "new_business_premium": KpiFigures(D("300000000"), None),
        "per_capita_premium": KpiFigures(D("25000000"), None),
        "persistency_13m": KpiFigures(D("0.93"), D("0.92")),
        "renewal_rate": KpiFigures(D("0.91"), D("0.90")),
        "referral_rate": KpiFigures(D("0.22"), D("0.20")),
        "complaint_rate_per_10k": KpiFigures(D(3), D(5)),
        "satisfaction_mean": KpiFigures(D(88), D(85)),
        "complaint_resolution_days": KpiFigures(D(4), D(5)),
        "direct_channel_rate": KpiFigures(D("0.65"), D("0.60")),
    }
    return {**readings, **changes}


def branch_card(
    readings: dict[str, KpiReading], assessment: Decimal = EXCELLENT_ASSESSMENT
) -> Scorecard:
    data = inputs(
        readings, entity="branch:B01", period="FY2024", assessment=assessment, headcount=115
    )
    return build(data, BRANCH)


def test_an_excellent_branch_is_capped_at_qualified_by_low_persistency() -> None:
    assert branch_card(branch_readings()).grade is Grade.EXCELLENT
    card = branch_card(branch_readings(persistency_13m=KpiFigures(D("0.84"), D("0.92"))))
    assert card.final_score >= 90
    assert (card.grade, card.grade_capped) == (Grade.QUALIFIED, True)
    assert [veto.kpi for veto in card.vetoes] == ["persistency_13m"]
    assert card.vetoes[0].reasons.zh == "13个月继续率 84.00% 低于否决线 85%,评级最高为合格"


def test_complaints_over_the_limit_cap_the_grade_too() -> None:
    card = branch_card(branch_readings(complaint_rate_per_10k=KpiFigures(D("5.5"), D(5))))
    assert (card.grade, card.grade_capped) == (Grade.QUALIFIED, True)
    assert [veto.kpi for veto in card.vetoes] == ["complaint_rate_per_10k"]


def test_exactly_at_both_limits_nothing_is_vetoed() -> None:
    card = branch_card(
        branch_readings(
            persistency_13m=KpiFigures(D("0.85"), D("0.92")),
            complaint_rate_per_10k=KpiFigures(D(5), D(5)),
        )
    )
    assert card.vetoes == []
    assert card.grade_capped is False


def test_trend_against_the_previous_final_score() -> None:
    assert build(inputs(assessment=D(100))).trend is Trend.NEW
    assert build(inputs(assessment=D(100), previous=D("95.00"))).trend is Trend.UP
    assert build(inputs(assessment=D(100), previous=D("99.50"))).trend is Trend.FLAT
    assert build(inputs(assessment=D(60), previous=D("95.00"))).trend is Trend.DOWN
    assert build(inputs(previous=D("95.00"))).previous_final_score == D("95.00")


def test_the_scorecard_is_unranked_and_its_id_deterministic() -> None:
    card = build(inputs())
    assert (card.rank, card.peers) == (None, 0)
    assert card.scorecard_id == Scorecard.make_id("agent:A0001", "2024-05", "renewal_clerk", 1)
    assert card == build(inputs())


# --- properties -----------------------------------------------------------------------------

values = st.none() | st.decimals(min_value=D(0), max_value=D(200), places=4)
assessments = st.none() | st.decimals(min_value=D(0), max_value=D(100), places=2)


@settings(max_examples=60, deadline=None)
@given(
    st.fixed_dictionaries(dict.fromkeys(ON_TARGET, values)),
    st.fixed_dictionaries(dict.fromkeys(ON_TARGET, values)),
    assessments,
)
def test_with_caps_of_1_every_score_stays_within_0_and_100(
    actuals: dict[str, Decimal | None],
    targets: dict[str, Decimal | None],
    assessment: Decimal | None,
) -> None:
    readings: dict[str, KpiReading] = {
        kpi: KpiFigures(actuals[kpi], targets[kpi]) for kpi in ON_TARGET
    }
    card = build(inputs(readings, assessment=assessment))
    for item in card.kpis:
        assert D(0) <= item.points <= item.weight
    assert D(0) <= card.quantitative_score <= D(100)
    assert D(0) <= card.final_score <= D(100)
