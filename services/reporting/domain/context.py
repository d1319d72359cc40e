"""A scorecard among its peers and over time (DESIGN §6): rank, trend and coaching quadrant."""

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from shared.config.org import Level, parse_entity
from shared.kpi.kpi_definition import Direction
from shared.messages.scorecard import Scorecard, Trend


def trend_of(
    final_score: Decimal, previous: Decimal | None, *, flat_within: Decimal = Decimal(0)
) -> Trend:
    """Up, down or flat against the previous period's final score (flat within
    `flat_within` points either way); new when there was no previous scorecard."""
    if previous is None:
        return Trend.NEW
    change = final_score - previous
    if abs(change) <= flat_within:
        return Trend.FLAT
    return Trend.UP if change > 0 else Trend.DOWN


def is_high(value: Decimal, split: Decimal, direction: Direction) -> bool:
    """Whether a value meets its split: at or above it, or at or below for lower-is-better."""
    if direction is Direction.LOWER_IS_BETTER:
        return value <= split
    return value >= split


def classify_quadrant(
    x: Decimal | None,
    x_split: Decimal | None,
    y: Decimal | None,
    y_split: Decimal | None,
    *,
    x_direction: Direction = Direction.HIGHER_IS_BETTER,
    y_direction: Direction = Direction.HIGHER_IS_BETTER,
) -> str | None:
    """``high_high``, ``high_low``, ``low_high`` or ``low_low`` (x first); None when a value
    or a split is missing. A value exactly at its split counts as high."""
    if x is None or x_split is None or y is None or y_split is None:
        return None
    x_part = "high" if is_high(x, x_split, x_direction) else "low"
    y_part = "high" if is_high(y, y_split, y_direction) else "low"
    return f"{x_part}_{y_part}"


def peer_group(scorecard: Scorecard) -> tuple[Level, str, str]:
    """Who a scorecard is ranked against: the same level, profile and period."""
    level, _ = parse_entity(scorecard.entity)
    return level, scorecard.profile, scorecard.period


def rank_scorecards(scorecards: Iterable[Scorecard]) -> list[Scorecard]:
    """Copies of the scorecards, in the order given, with `rank` and `peers` set.

    Peers share a level, profile and period; the highest final score ranks 1 and equal
    scores share a rank, the next rank skipping as many places (90, 85, 85, 80 → 1, 2, 2, 4).
    """
    cards = list(scorecards)
    groups: dict[tuple[Level, str, str], list[Decimal]] = defaultdict(list)
    for card in cards:
        groups[peer_group(card)].append(card.final_score)
    ranks: dict[tuple[Level, str, str], dict[Decimal, int]] = {}
    for key, scores in groups.items():
        first: dict[Decimal, int] = {}
        for place, score in enumerate(sorted(scores, reverse=True), start=1):
            first.setdefault(score, place)
        ranks[key] = first
    return [
        card.model_copy(
            update={
                "rank": ranks[peer_group(card)][card.final_score],
                "peers": len(groups[peer_group(card)]),
            }
        )
        for card in cards
    ]
