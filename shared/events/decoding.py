"""Turn the raw bytes of an upstream message into a validated event, or say exactly why not.

The reason codes are the dead-letter reasons of the ingest service; the detail is the sentence
the publishing team will read, naming the field and what was expected.
"""

import json
import re
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from pydantic import ValidationError

from shared.errors import KpiError

from .base import UpstreamEvent
from .upstream import MODELS_BY_EVENT_TYPE

MAX_MESSAGE_BYTES: Final = 64 * 1024


class RejectReason(StrEnum):
    """Why a message was not accepted; the dead-letter `reason` field."""

    MALFORMED_JSON = "malformed_json"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    SCHEMA_VIOLATION = "schema_violation"
    NAIVE_TIMESTAMP = "naive_timestamp"
    OUT_OF_RANGE = "out_of_range"
    UNKNOWN_ENTITY = "unknown_entity"
    TOO_LARGE = "too_large"
    TOO_LATE = "too_late"
    EMPTY_VALUE = "empty_value"
    # Not the publisher's fault: processing the record raised an error a retry would not fix
    # (a bug, or an output the broker or database refuses); re-drive it once that is fixed.
    PROCESSING_ERROR = "processing_error"


class ContractViolation(KpiError):
    """A message breaks the v1 event contract."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


_NAIVE_TYPES: Final = frozenset({"timezone_aware"})
_RANGE_TYPES: Final = frozenset(
    {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "out_of_range"}
)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _parse_json(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContractViolation(
            RejectReason.MALFORMED_JSON, f"not UTF-8: invalid byte at position {exc.start}"
        ) from exc
    try:
        # parse_float keeps money exact: 12345678901234.5678 never passes through a float.
        return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except (json.JSONDecodeError, ValueError) as exc:
        raise ContractViolation(RejectReason.MALFORMED_JSON, f"not valid JSON: {exc}") from exc
    except RecursionError as exc:
        # A few KiB of '[' exhaust the parser's stack; that must be a rejection, not a crash
        # that would stop the partition.
        raise ContractViolation(
            RejectReason.MALFORMED_JSON, "not valid JSON: arrays or objects nested too deeply"
        ) from exc


def _location(loc: tuple[int | str, ...]) -> str:
    # Union members and discriminators add noise to the path; keep field names only.
    return ".".join(str(part) for part in loc if not str(part).endswith("Event")) or "event"


_SHOWN_CHARS: Final = 80
_SHOWN_DEPTH: Final = 3
_SHOWN_ITEMS: Final = 10
_PHONE_WITHHELD: Final = "<phone number withheld>"
_TIMESTAMP_EXAMPLE: Final = "2024-04-01T09:30:00+09:00"
_TIMESTAMP_TYPES: Final = frozenset(
    {"timestamp_type", "datetime_type", "datetime_parsing", "datetime_from_date_parsing"}
)
_DATE_TYPES: Final = frozenset(
    {"date_type", "date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact"}
)


def _json_text(value: Any, depth: int = 0) -> str:
    # Publishers wrote JSON, so echo their value in JSON terms, not as a Python repr
    # (null, not None; 1.5, not Decimal('1.5')); strings keep the quotes pydantic uses.
    # Depth and items are bounded: the text is cut to one line anyway, and a deeply nested
    # input must not exhaust the stack.
    if depth > _SHOWN_DEPTH and isinstance(value, list | dict):
        return "…"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    if isinstance(value, list):
        items = [_json_text(item, depth + 1) for item in value[:_SHOWN_ITEMS]]
        return "[" + ", ".join(items + ["…"] * (len(value) > _SHOWN_ITEMS)) + "]"
    if isinstance(value, dict):
        pairs = [
            f"{_json_text(key)}: {_json_text(item, depth + 1)}"
            for key, item in list(value.items())[:_SHOWN_ITEMS]
        ]
        return "{" + ", ".join(pairs + ["…"] * (len(value) > _SHOWN_ITEMS)) + "}"
    return repr(mask_phone_like(value)) if isinstance(value, str) else str(value)


# Written like a phone number: 10 to 15 digits with a phone's separators, and not a date.
_PHONE_LIKE: Final = re.compile(r"\+?\d[\d ().-]{8,20}\d")
_DATE_START: Final = re.compile(r"\d{4}-\d{2}-\d{2}")


def _masked(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(char.isdigit() for char in text)
    if _DATE_START.match(text) or not 10 <= digits <= 15:
        return text
    return _PHONE_WITHHELD


def mask_phone_like(text: str) -> str:
    """`text` with every run written like a phone number withheld. Details of rejections are
    stored and logged, and a number sent in the wrong field is still personal data (found by
    tests/unit/ingest/test_triage_fuzz.py: an event_id of ["090-1234-5678"] came back)."""
    return _PHONE_LIKE.sub(_masked, text)


def _show(value: Any) -> str:
    """The offending input as the publisher sent it (its strings without phone numbers), cut
    short so a detail stays one line."""
    text = _json_text(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float, Decimal)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


_TIMESTAMP_HINT: Final = (
    "{where}: expected an ISO 8601 timestamp string with an offset, "
    f"e.g. {_TIMESTAMP_EXAMPLE} (got {{given}}{{why}})"
)
_DATE_HINT: Final = (
    "{where}: expected a date YYYY-MM-DD or an ISO 8601 timestamp with an offset (got {given}{why})"
)
# One sentence per pydantic error type; placeholders are {where}, {given}, {why} and the
# error's own context (ge, pattern, expected, ...).
_TEMPLATES: Final[dict[str, str]] = {
    "missing": "{where}: field required",
    "extra_forbidden": "{where}: unknown field (v1 has no such field; check the spelling)",
    "timezone_aware": (
        "{where}: timestamp {given} has no UTC offset; "
        f"send ISO 8601 with an offset, e.g. {_TIMESTAMP_EXAMPLE}"
    ),
    **dict.fromkeys(_TIMESTAMP_TYPES, _TIMESTAMP_HINT),
    **dict.fromkeys(_DATE_TYPES, _DATE_HINT),
    "string_pattern_mismatch": "{where}: {given} does not match the pattern {pattern}",
    "string_type": "{where}: expected a JSON string (got {given})",
    **dict.fromkeys(("bool_type", "bool_parsing"), "{where}: expected true or false (got {given})"),
    **dict.fromkeys(
        ("decimal_type", "decimal_parsing"),
        "{where}: expected a decimal number, as a JSON number or string (got {given})",
    ),
    "finite_number": (
        "{where}: must be a finite number; NaN and Infinity are not allowed (got {given})"
    ),
    "decimal_max_places": "{where}: at most {decimal_places} decimal places (got {given})",
    "decimal_max_digits": "{where}: at most {max_digits} digits in total (got {given})",
    "decimal_whole_digits": (
        "{where}: at most {whole_digits} digits before the decimal point (got {given})"
    ),
    "enum": "{where}: {given} is not one of {expected}",
    "literal_error": "{where}: {given} is not allowed; expected {expected}",
    "greater_than_equal": "{where}: must be ≥ {ge} (got {given})",
    "greater_than": "{where}: must be > {gt} (got {given})",
    "less_than_equal": "{where}: must be ≤ {le} (got {given})",
    "less_than": "{where}: must be < {lt} (got {given})",
}
# Model-level rules already write their full sentence, field name included.
_OWN_SENTENCE: Final = frozenset({"out_of_range", "org_key", "missing_issue_date"})


class _Fields(dict[str, Any]):
    """Template values; a context key pydantic did not supply must not crash ingest."""

    def __missing__(self, key: str) -> str:
        return "?"


def _describe(error: Any) -> str:
    kind = error["type"]
    if kind in _OWN_SENTENCE:
        return str(error["msg"])
    ctx = error.get("ctx") or {}
    where = _location(error["loc"])
    # Phone numbers are personal data that must never be logged raw (DESIGN §3).
    given = _PHONE_WITHHELD if where.endswith("phone") else _show(error.get("input"))
    why = f": {ctx['error']}" if "error" in ctx else ""
    template = _TEMPLATES.get(kind, "{where}: {msg} (got {given})")
    fields = _Fields(ctx, where=where, given=given, why=why, msg=error["msg"])
    return template.format_map(fields)


def _reason_for(errors: list[Any]) -> RejectReason:
    kinds = {error["type"] for error in errors}
    if kinds <= _NAIVE_TYPES:
        return RejectReason.NAIVE_TIMESTAMP
    if kinds <= _RANGE_TYPES:
        return RejectReason.OUT_OF_RANGE
    if kinds <= _NAIVE_TYPES | _RANGE_TYPES:
        return RejectReason.NAIVE_TIMESTAMP
    return RejectReason.SCHEMA_VIOLATION


def violation_from(error: ValidationError) -> ContractViolation:
    """Translate pydantic's errors into one reason and a sentence a publisher can act on."""
    errors = error.errors(include_url=False)
    detail = "; ".join(_describe(e) for e in errors)
    return ContractViolation(_reason_for(errors), detail)


def parse_document(raw: bytes, *, max_bytes: int = MAX_MESSAGE_BYTES) -> Any:
    """Check the size and parse the JSON (numbers as Decimal), without validating the event.

    Ingest normalises code lists between this step and `validate_document`.
    """
    if len(raw) > max_bytes:
        raise ContractViolation(
            RejectReason.TOO_LARGE, f"message is {len(raw):,} bytes; the limit is {max_bytes:,}"
        )
    if not raw:
        # Told apart from malformed JSON: a tombstone or an empty record is usually a producer
        # or connector sending deletes, not a broken event.
        raise ContractViolation(
            RejectReason.EMPTY_VALUE,
            "the record has no value (empty, or a null tombstone); an event is a JSON object",
        )
    return _parse_json(raw)


def decode_upstream(raw: bytes, *, max_bytes: int = MAX_MESSAGE_BYTES) -> UpstreamEvent:
    """Validate one upstream message; raise `ContractViolation` naming the reason and field."""
    return validate_document(parse_document(raw, max_bytes=max_bytes))


def validate_document(document: Any) -> UpstreamEvent:
    """Validate an already parsed JSON document (numbers as Decimal) into its event model."""
    if not isinstance(document, dict):
        raise ContractViolation(
            RejectReason.MALFORMED_JSON,
            f"an event is a JSON object; got a JSON {_json_kind(document)}",
        )
    event_type = document.get("event_type")
    if event_type is None:
        raise ContractViolation(RejectReason.SCHEMA_VIOLATION, "event_type: field required")
    model = MODELS_BY_EVENT_TYPE.get(event_type) if isinstance(event_type, str) else None
    if model is None:
        known = ", ".join(MODELS_BY_EVENT_TYPE)
        raise ContractViolation(
            RejectReason.UNKNOWN_EVENT_TYPE, f"event_type {_show(event_type)} is not one of {known}"
        )
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise violation_from(exc) from exc
