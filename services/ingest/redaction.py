"""Dead letters keep a rejected message's original bytes, except its phone numbers.

Phone numbers are never stored raw (DESIGN §3), and a dead letter is stored. In a payload that
parses as JSON, the string value of every field whose name ends in `phone` is replaced in place
by its keyed hash (or a placeholder when it is not a number), and so is any other string (a
value or a name) written like a phone number: 10 to 15 digits with the separators a phone
number has, no date. The hostile-input fuzzer found numbers that escaped the names: a document
sent as a list of its values, and `agent_phone` misspelt by a byte that is not UTF-8. Every
other byte stays as it was.
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


def _looks_like_a_phone(text: str) -> bool:
    encoded = text.strip().encode("utf-8", "surrogatepass")
    match = _PHONE_LIKE.fullmatch(encoded)
    return match is not None and _mask(match) == WITHHELD.encode()


def _is_phone_field(key: str, value: Any) -> bool:
    return key.lower().endswith("phone") and isinstance(value, str | int) and value != ""


def _phone_values(key: str, value: Any) -> Iterator[str | int]:
    if isinstance(value, dict):
        for k, v in value.items():
            if _looks_like_a_phone(str(k)):
                yield str(k)
            yield from _phone_values(str(k), v)
    elif isinstance(value, list):
        for item in value:
            yield from _phone_values(key, item)
    elif _is_phone_field(key, value) or (isinstance(value, str) and _looks_like_a_phone(value)):
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
