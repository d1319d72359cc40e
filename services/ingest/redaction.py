"""Dead letters keep a rejected message's original bytes, except its phone numbers.

Phone numbers are never stored raw (DESIGN §3), and a dead letter is stored. In a payload that
parses as JSON, the string value of every field whose name ends in `phone` is replaced in place
by its keyed hash (or a placeholder when it is not a number); every other byte stays as it was.
In a payload that does not parse, runs of 10 to 15 digits written like a phone number are
masked (dates are left alone). A payload with no phone number is kept byte for byte.
"""

import json
import re
from collections.abc import Iterator
from typing import Any

from .phones import PhoneHasher

_PHONE_LIKE = re.compile(rb"\+?\d[\d ().-]{8,20}\d")
_DATE = re.compile(rb"^\d{4}-\d{2}-\d{2}")
WITHHELD = "<phone number withheld>"


def _phone_values(key: str, value: Any) -> Iterator[str | int]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _phone_values(str(k), v)
    elif isinstance(value, list):
        for item in value:
            yield from _phone_values(key, item)
    elif key.lower().endswith("phone") and isinstance(value, str | int) and value != "":
        yield value


def _mask(match: re.Match[bytes]) -> bytes:
    text = match.group(0)
    digits = sum(ch in b"0123456789" for ch in text)
    if _DATE.match(text) or not 10 <= digits <= 15:
        return text
    return WITHHELD.encode()


def _replacement(value: str | int, hasher: PhoneHasher) -> str:
    try:
        return hasher.hash(str(value))
    except ValueError:
        return WITHHELD


def redact_phones(raw: bytes, hasher: PhoneHasher) -> bytes:
    """The payload with its phone numbers replaced; unchanged bytes when it has none."""
    try:
        # Walking the document recurses too: JSON the parser accepts can still be too deep.
        phones = set(_phone_values("", json.loads(raw)))
    except (ValueError, RecursionError):
        return _PHONE_LIKE.sub(_mask, raw)
    redacted = raw
    for value in phones:
        encoded = json.dumps(value).encode()
        if encoded in redacted:
            redacted = redacted.replace(encoded, json.dumps(_replacement(value, hasher)).encode())
        else:
            # Written with escapes we did not reproduce: fall back to masking the digits.
            redacted = _PHONE_LIKE.sub(_mask, redacted)
    return redacted
