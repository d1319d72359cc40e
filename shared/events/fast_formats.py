"""Strict readers of the contract's field formats for the fast paths (msgspec) beside the
pydantic models.

Each reader accepts a *subset* of what the pydantic contract accepts, and gives the same value
for it; anything else reads as None, and the caller then asks the pydantic models, which decide
(and name the reason). So a fast path can be wrong only by being slow, and the property tests
(tests/unit/events/test_fast_paths.py) check that the subset reads exactly as the contract does.
"""

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Final

from .fields import EARLIEST_DATE, LATEST_DATE

# A timestamp as publishers and ingest write them: seconds, up to 6 fraction digits, an offset.
_TIMESTAMP: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)",
    re.ASCII,
)
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_PLAIN_DECIMAL: Final = re.compile(r"(?:0|[1-9]\d*)(?:\.\d+)?", re.ASCII)


def strict_pattern(pattern: str) -> str:
    """A contract pattern for msgspec, which searches like `re.search`: `$` would let a final
    newline through, which pydantic's regex refuses, so the end is `\\Z`; and ASCII only, so
    `\\d` is never more than pydantic's."""
    return "(?a)" + (pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern)


class KnownValues:
    """Whether a text matches a contract pattern, remembered for the texts that do: agent,
    branch and source names, currencies and periods repeat in every batch, and a set look-up
    costs a tenth of a regular expression."""

    def __init__(self, pattern: str, limit: int = 100_000) -> None:
        self._match = re.compile(pattern, re.ASCII).fullmatch
        self._known: set[str] = set()
        self._limit = limit

    def __call__(self, value: str) -> bool:
        if value in self._known:
            return True
        if self._match(value) is None:
            return False
        if len(self._known) >= self._limit:
            self._known.clear()
        self._known.add(value)
        return True


def timestamp(value: object) -> datetime | None:
    """An aware timestamp in the strict form, else None. Years 1 and 9999 are left to the
    models: moving them to UTC may leave the calendar."""
    if type(value) is not str or _TIMESTAMP.fullmatch(value) is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if 1 < moment.year < 9999 else None


def date_or_timestamp(value: object) -> date | None:
    """A `DateOrTimestamp`: 'YYYY-MM-DD', or a strict timestamp taken at its own local date,
    from 1900 to 2199 (outside, the models name the bound)."""
    if type(value) is not str:
        return None
    if len(value) == 10:
        if _DATE.fullmatch(value) is None:
            return None
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return None
    else:
        moment = timestamp(value)
        if moment is None:
            return None
        day = moment.date()
    return day if EARLIEST_DATE <= day <= LATEST_DATE else None


def plain_decimal(value: object, *, max_digits: int, decimal_places: int) -> Decimal | None:
    """A non-negative decimal written plainly (a JSON integer, a string or number of digits with
    an optional fraction, no exponent, no sign, no leading zero) within the digit bounds."""
    if type(value) is int:
        number = Decimal(value)
    elif type(value) is str:
        if _PLAIN_DECIMAL.fullmatch(value) is None:
            return None
        number = Decimal(value)
    elif type(value) is Decimal:
        if _PLAIN_DECIMAL.fullmatch(str(value)) is None:
            return None
        number = value
    else:
        return None
    if number < 0:
        return None
    sign_digits_exponent = number.as_tuple()
    exponent = sign_digits_exponent.exponent
    if not isinstance(exponent, int):
        return None
    places = -exponent if exponent < 0 else 0
    digits = max(len(sign_digits_exponent.digits) + max(exponent, 0), places)
    whole = digits - places
    if places > decimal_places or digits > max_digits or whole > max_digits - decimal_places:
        return None
    return number


def utc_text(moment: datetime) -> str:
    """An aware timestamp in UTC as pydantic writes it: microseconds when there are any, 'Z'."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"
