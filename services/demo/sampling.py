"""Random draws of the demo stream: weighted choices, counts, premiums, channels, busy days."""

import itertools
import math
import random
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from .profiles import (
    BELOW_TOP_5,
    BELOW_TOP_10,
    COMPLAINT_CATEGORIES,
    COMPLIMENT_CATEGORIES,
    DIRECT_CHANNELS,
    MONTH_WEIGHTS,
    OFFICE_HOURS,
    ONLINE_HOURS,
    OTHER_CHANNELS,
    PRODUCT_LINES,
    REQUEST_CATEGORIES,
    SURVEY_CHANNELS,
    SURVEY_SCALES,
    TERMINATION_KINDS,
    WEEKDAY_WEIGHTS,
    ProductLine,
)

_TABLE_SIZE: Final = 4096


@dataclass(frozen=True, slots=True)
class Choice:
    """A weighted choice among values, drawn with one random number from a lookup table.

    The table has 4,096 cells, so weights are honoured to within 1/4,096.
    """

    values: tuple[object, ...]
    cumulative: tuple[float, ...]
    table: tuple[object, ...]

    @classmethod
    def of(cls, pairs: Iterable[tuple[object, float]]) -> "Choice":
        values, weights = zip(*pairs, strict=True)
        cumulative = tuple(itertools.accumulate(weights))
        total = cumulative[-1]
        table = tuple(
            values[min(bisect_right(cumulative, (i + 0.5) / _TABLE_SIZE * total), len(values) - 1)]
            for i in range(_TABLE_SIZE)
        )
        return cls(tuple(values), cumulative, table)

    def pick(self, u: float) -> object:
        return self.table[int(u * _TABLE_SIZE)]

    def draw(self, rng: random.Random) -> object:
        return self.table[int(rng.random() * _TABLE_SIZE)]


def below(rng: random.Random, n: int) -> int:
    """A whole number in [0, n), from one random number."""
    return int(rng.random() * n)


def between(rng: random.Random, low: int, high: int) -> int:
    """A whole number in [low, high], from one random number."""
    return low + int(rng.random() * (high - low + 1))


PRODUCTS: Final = Choice.of((line, line.weight) for line in PRODUCT_LINES)
DIRECT: Final = Choice.of(DIRECT_CHANNELS)
OTHER: Final = Choice.of(OTHER_CHANNELS)
SURVEY_CHANNEL: Final = Choice.of(SURVEY_CHANNELS)
SCALE: Final = Choice.of(SURVEY_SCALES)
BELOW_10: Final = Choice.of(BELOW_TOP_10)
BELOW_5: Final = Choice.of(BELOW_TOP_5)
COMPLAINT: Final = Choice.of(COMPLAINT_CATEGORIES)
COMPLIMENT: Final = Choice.of(COMPLIMENT_CATEGORIES)
REQUEST: Final = Choice.of(REQUEST_CATEGORIES)
TERMINATION: Final = Choice.of(TERMINATION_KINDS)
OFFICE: Final = Choice.of(OFFICE_HOURS)
ONLINE: Final = Choice.of(ONLINE_HOURS)
_WEEKLY_MEAN: Final = sum(WEEKDAY_WEIGHTS) / 7


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson count with the given mean (normal beyond 30)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def annual_premium(rng: random.Random, line: ProductLine) -> int:
    """A premium of the line, log-normal around its median, to the nearest 10 (≥ 1,000)."""
    amount = line.median_premium * math.exp(line.spread * rng.gauss(0.0, 1.0))
    return max(1_000, int(round(amount, -1)))


def sales_channel(rng: random.Random, direct_share: float) -> str:
    """A sales channel: direct (face to face, online) with `direct_share`, else another."""
    table = DIRECT if rng.random() < direct_share else OTHER
    return str(table.draw(rng))


def day_activity(day: date) -> float:
    """Relative business on a day: weekday, fiscal-year rush and the New Year holidays."""
    if (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3):
        return 0.1
    return WEEKDAY_WEIGHTS[day.weekday()] / _WEEKLY_MEAN * MONTH_WEIGHTS.get(day.month, 1.0)


def workday(day: date) -> date:
    """Offices are closed on Sundays: their work lands on Monday."""
    return day + timedelta(days=1) if day.weekday() == 6 else day


def workday_ordinal(ordinal: int) -> int:
    """`workday` on proleptic ordinals (ordinal 1, 0001-01-01, is a Monday)."""
    return ordinal + 1 if ordinal % 7 == 0 else ordinal
