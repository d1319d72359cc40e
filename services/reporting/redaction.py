"""What an alert may show people: its evidence and message without customer identifiers or
phone hashes.

The alerts service keeps what a fraud rule found (the callback phone's hash, the customers'
ids) because an investigator needs them, and its messages name the customers. The console and
the API are read by managers and operators: a list of customer ids becomes their count, a phone
hash is withheld, and the same values are taken out of the message text.
"""

import re
from collections.abc import Mapping
from typing import Final

from pydantic import JsonValue

WITHHELD: Final = "withheld"
_PHONE_HASH: Final = re.compile(r"hmac-sha256:[0-9a-fA-F]{8,}")
_PERSONAL: Final = re.compile(r"customer|phone", re.IGNORECASE)

Scalar = str | int | float | bool | None


def _personal_values(evidence: Mapping[str, JsonValue]) -> list[list[str]]:
    """The values of every customer or phone field, a list per field."""
    found: list[list[str]] = []
    for key, value in evidence.items():
        if _PERSONAL.search(key):
            items = value if isinstance(value, list) else [value]
            found.append([str(i) for i in items if isinstance(i, str | int) and str(i)])
    return found


def public_evidence(evidence: Mapping[str, JsonValue]) -> dict[str, Scalar]:
    """The evidence with every customer or phone field replaced by a count (a list) or
    `withheld`, other lists by their count, and nested objects left out."""
    shown: dict[str, Scalar] = {}
    for key, value in evidence.items():
        if isinstance(value, list):
            shown[f"{key}_count"] = len(value)
        elif _PERSONAL.search(key):
            shown[key] = WITHHELD
        elif isinstance(value, str):
            shown[key] = _PHONE_HASH.sub(WITHHELD, value)
        elif value is None or isinstance(value, bool | int | float):
            shown[key] = value
    return shown


def public_message(text: str, evidence: Mapping[str, JsonValue]) -> str:
    """The message without the customer ids and phone hashes its evidence names."""
    fields = _personal_values(evidence)
    for values in fields:
        listed = ", ".join(values)  # how the rules' messages list them ({customers})
        if len(values) > 1 and listed in text:
            text = text.replace(listed, f"{len(values)} {WITHHELD}")
    for value in sorted((v for values in fields for v in values), key=len, reverse=True):
        text = re.sub(rf"(?<![\w-]){re.escape(value)}(?![\w-])", WITHHELD, text)
    return _PHONE_HASH.sub(WITHHELD, text)
