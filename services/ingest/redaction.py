"""Dead letters keep a rejected message's original bytes, except its phone numbers.

Phone numbers are never stored raw (DESIGN §3), and a dead letter is stored. In a payload that
parses as JSON, every string value of a field whose name ends in `phone` becomes its keyed hash
(or a placeholder when it is not a number); in one that does not parse, any run of nine or more
digits with the usual separators is masked. A payload with no phone number is kept byte for
byte.
"""

import json
import re
from typing import Any

from .phones import PhoneHasher

_PHONE_LIKE = re.compile(rb"\+?\d[\d\s().-]{7,}\d")
WITHHELD = "<phone number withheld>"


def _redact_value(key: str, value: Any, hasher: PhoneHasher) -> tuple[Any, bool]:
    if isinstance(value, dict):
        changed = False
        result = {}
        for k, v in value.items():
            result[k], hit = _redact_value(str(k), v, hasher)
            changed = changed or hit
        return result, changed
    if isinstance(value, list):
        items = [_redact_value(key, v, hasher) for v in value]
        return [v for v, _ in items], any(hit for _, hit in items)
    if key.lower().endswith("phone") and isinstance(value, str | int):
        try:
            return hasher.hash(str(value)), True
        except ValueError:
            return WITHHELD, True
    return value, False


def redact_phones(raw: bytes, hasher: PhoneHasher) -> bytes:
    """The payload with its phone numbers replaced; unchanged bytes when it has none."""
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        return _PHONE_LIKE.sub(WITHHELD.encode(), raw)
    redacted, changed = _redact_value("", document, hasher)
    if not changed:
        return raw
    return json.dumps(redacted, ensure_ascii=False, separators=(",", ":")).encode()
