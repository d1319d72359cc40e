"""Context of a scorecard: rank among peers, trend, and the coaching quadrants of seed 001."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Final

import pytest

from services.reporting.domain.build import KpiFigures, ScorecardInputs, build_scorecard
from services.reporting.domain.context import classify_quadrant, rank_scorecards, trend_of
from services.reporting.domain.profiles import load_profiles
from shared.kpi.catalogue import load_catalogue
from shared.kpi.kpi_definition import Direction
from shared.messages.scorecard import Scorecard, ScorecardStatus, Trend

D = Decimal
CONFIG_DIR: Final = Path(__file__).resolve().parents[3] / "config"
CATALOGUE: Final = load_catalogue(CONFIG_DIR / "kpis.yaml")
PROFILES: Final = load_profiles(CONFIG_DIR, CATALOGUE)
AS_OF: Final = datetime(2024, 6, 8, tzinfo=UTC)


def clerk_card(
    renewal_rate: Decimal | None,
    satisfaction: Decimal | None,
    *,
    entity: str = "agent:A0001",
    assessment: Decimal | None = None,
) -> Scorecard:
    data = ScorecardInputs(
        entity=entity,
        period="2024-05",
        readings={
            "renewal_rate": KpiFigures(renewal_rate, D("0.90")),
            "satisfaction_mean": KpiFigures(satisfaction, D(85)),
        },
        revision=1,
        status=ScorecardStatus.PROVISIONAL,
        activity=True,
        as_of=AS_OF,
        assessment=assessment,
        coefficient=D(1),
    )
    return build_scorecard(data, PROFILES["renewal_clerk"], CATALOGUE)


# --- quadrants: renewal rate × satisfaction, split at the targets ----------------------------


@pytest.mark.parametrize(
    ("renewal", "satisfaction", "quadrant", "label", "coaching"),
    [
        (
            D("0.93"),
            D(90),
            "high_high",
            "高续保率-高客户满意度",
            "这部分续保员是优秀员工,可以给予奖励和分享经验的机会,如让他们在内部培训中分享成功案例。",
        ),
        (
            D("0.93"),
            D(70),
            "high_low",
            "高续保率-低客户满意度",
            "虽然业务成果好,但客户服务可能存在问题。需要针对客户服务方面进行培训,例如沟通技巧、"
            "解决客户异议的能力等。",
        ),
        (
            D("0.82"),
            D(90),
            "low_high",
            "低续保率-高客户满意度",
            "可能在销售技巧或对产品的理解上不足。提供销售技能培训,加深他们对续保产品优势的理解。",
        ),
        (
            D("0.82"),
            D(70),
            "low_low",
            "低续保率-低客户满意度",
            "这是需要重点关注和改进的群体。可以安排一对一的辅导,同时分析是个人能力问题还是外部因素影响。",
        ),
    ],
)
def test_each_quadrant_carries_its_coaching_action_from_seed_001(
    renewal: Decimal, satisfaction: Decimal, quadrant: str, label: str, coaching: str
) -> None:
    card = clerk_card(renewal, satisfaction)
    assert card.quadrant == quadrant
    assert card.quadrant_labels is not None
    assert card.coaching is not None
    assert card.quadrant_labels.zh == label
    assert card.coaching.zh == coaching
    assert card.coaching.en
    assert card.coaching.ja


def test_the_coaching_actions_in_english_and_japanese() -> None:
    best, worst = clerk_card(D("0.95"), D(95)), clerk_card(D("0.5"), D(50))
    assert best.coaching is not None
    assert worst.coaching is not None
    assert best.coaching.en.startswith("An excellent performer: reward them")
    assert worst.coaching.en.startswith("The group to focus on and improve: arrange one-to-one")
    assert worst.coaching.ja.startswith("重点的に支援・改善すべき層です。1対1の指導")


def test_exactly_on_target_counts_as_high() -> None:
    assert clerk_card(D("0.90"), D(85)).quadrant == "high_high"
    assert clerk_card(D("0.8999"), D("84.99")).quadrant == "low_low"


def test_no_quadrant_without_both_values() -> None:
    card = clerk_card(None, D(90))
    assert (card.quadrant, card.quadrant_labels, card.coaching) == (None, None, None)


def test_a_lower_is_better_axis_is_high_at_or_below_its_split() -> None:
    lower = Direction.LOWER_IS_BETTER
    assert classify_quadrant(D(12), D(14), D(90), D(85), x_direction=lower) == "high_high"
    assert classify_quadrant(D(15), D(14), D(80), D(85), x_direction=lower) == "low_low"
    assert classify_quadrant(D(1), None, D(1), D(1)) is None


# --- trend ----------------------------------------------------------------------------------


def test_trend_up_down_flat_new() -> None:
    assert trend_of(D("85.00"), None) is Trend.NEW
    assert trend_of(D("85.00"), D("80.00")) is Trend.UP
    assert trend_of(D("80.00"), D("85.00")) is Trend.DOWN
    assert trend_of(D("85.00"), D("85.00")) is Trend.FLAT
    assert trend_of(D("85.40"), D("85.00"), flat_within=D("0.5")) is Trend.FLAT
    assert trend_of(D("85.51"), D("85.00"), flat_within=D("0.5")) is Trend.UP


# --- rank -----------------------------------------------------------------------------------


def test_peers_are_ranked_best_first_and_ties_share_a_rank() -> None:
    cards = [
        clerk_card(D("0.95"), D(90), entity="agent:A1", assessment=D(80)),
        clerk_card(D("0.95"), D(90), entity="agent:A2", assessment=D(100)),
        clerk_card(D("0.95"), D(90), entity="agent:A3", assessment=D(80)),
        clerk_card(D("0.85"), D(90), entity="agent:A4", assessment=D(80)),
    ]
    ranked = rank_scorecards(cards)
    assert [(c.entity, c.rank, c.peers) for c in ranked] == [
        ("agent:A1", 2, 4),
        ("agent:A2", 1, 4),
        ("agent:A3", 2, 4),
        ("agent:A4", 4, 4),
    ]
    assert all(c.rank is None for c in cards)  # the originals are untouched
    assert ranked[0].model_copy(update={"rank": None, "peers": 0}) == cards[0]


def test_peers_share_level_profile_and_period() -> None:
    agent = clerk_card(D("0.95"), D(90), entity="agent:A1")
    other_period = agent.model_copy(update={"period": "2024-06", "entity": "agent:A2"})
    team = agent.model_copy(update={"entity": "team:T01"})
    other_profile = agent.model_copy(update={"entity": "agent:A3", "profile": "branch"})
    ranked = rank_scorecards([agent, other_period, team, other_profile])
    assert [(c.rank, c.peers) for c in ranked] == [(1, 1)] * 4


def test_ranking_nothing_gives_nothing() -> None:
    assert rank_scorecards([]) == []
