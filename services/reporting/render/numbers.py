"""How numbers read on the page: ratios as percentages (0.5766 → 57.66%), money with thousands
separators (1,234,567.80), scores with two decimals. Decimal in, str out; rounding half up, so
a score of 89.995 does not print as 89.99 beside a grade of Excellent computed from 90.00."""

from decimal import ROUND_HALF_UP, Decimal
from typing import Final

MISSING: Final = "—"
_CENT: Final = Decimal("0.01")
_TENTH: Final = Decimal("0.1")
_HUNDRED: Final = Decimal(100)


def _fixed(value: Decimal, step: Decimal) -> str:
    return f"{value.quantize(step, rounding=ROUND_HALF_UP):,}"


def percent(ratio: Decimal | None) -> str:
    """A fraction as a percentage with two decimals: 0.5766 → 57.66%."""
    if ratio is None:
        return MISSING
    return f"{_fixed(ratio * _HUNDRED, _CENT)}%"


def score(value: Decimal | None) -> str:
    """Points out of 100 with two decimals: 87.4 → 87.40."""
    return MISSING if value is None else _fixed(value, _CENT)


def signed_score(delta: Decimal) -> str:
    """A change of score with its sign: +2.10, −0.35, ±0.00."""
    text = _fixed(abs(delta), _CENT)
    if delta > 0:
        return f"+{text}"
    if delta < 0:
        return f"−{text}"
    return f"±{text}"


def plain(value: Decimal | None) -> str:
    """A number as written, without trailing zeros, grouped in thousands: 12.50 → 12.5."""
    if value is None:
        return MISSING
    normal = value.normalize()
    if normal == normal.to_integral_value():
        return f"{normal.quantize(Decimal(1)):,}"
    return f"{normal:,f}"


def in_unit(value: Decimal | None, unit: str | None) -> str:
    """A KPI value (or target) in its catalogue unit."""
    if value is None:
        return MISSING
    if unit == "ratio":
        return percent(value)
    if unit in {"money", "points", "per_10k", "per_day"}:
        return _fixed(value, _CENT)
    if unit in {"days", "hours"}:
        return _fixed(value, _TENTH)
    if unit == "count" and value == value.to_integral_value():
        return _fixed(value, Decimal(1))
    return plain(value)
