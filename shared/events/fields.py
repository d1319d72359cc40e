"""Annotated field types of the event contract (DESIGN §3 and §9).

Each type carries its own rule so that every event states the same rule the same way, and
the JSON Schema generated from the models documents it.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Final

from pydantic import AwareDatetime, BeforeValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

IDENTIFIER_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
EVENT_ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
SOURCE_PATTERN: Final = r"^[a-z][a-z0-9_.-]{0,63}$"
CURRENCY_PATTERN: Final = r"^[A-Z]{3}$"
CODE_PATTERN: Final = r"^[a-z][a-z0-9_]{0,63}$"
PHONE_PATTERN: Final = r"^\+?[0-9][0-9 ()-]{5,24}$"
PERIOD_PATTERN: Final = r"^(\d{4}-(0[1-9]|1[0-2])|FY\d{4}(-H[12]|-Q[1-4])?)$"

Identifier = Annotated[
    str,
    StringConstraints(pattern=IDENTIFIER_PATTERN),
    Field(description="Letters, digits, '.', '_' or '-'; starts with a letter or digit; ≤ 64."),
]
EventId = Annotated[
    str,
    StringConstraints(pattern=EVENT_ID_PATTERN),
    Field(description="Unique per source; letters, digits, '.', '_', ':' or '-'; ≤ 128."),
]
SourceName = Annotated[
    str,
    StringConstraints(pattern=SOURCE_PATTERN),
    Field(description="The publishing system, lower case, e.g. 'policy-admin'."),
]
Currency = Annotated[
    str,
    StringConstraints(pattern=CURRENCY_PATTERN),
    Field(description="ISO 4217 code, e.g. 'JPY'."),
]
Code = Annotated[
    str,
    StringConstraints(pattern=CODE_PATTERN),
    Field(description="Lower-case code: letters, digits and '_', e.g. 'auto'."),
]
Phone = Annotated[
    str,
    StringConstraints(pattern=PHONE_PATTERN),
    Field(
        description=(
            "Raw phone number at the edge only; ingest replaces it by a keyed hash and it is "
            "never stored or logged."
        )
    ),
]
PeriodName = Annotated[
    str,
    StringConstraints(pattern=PERIOD_PATTERN),
    Field(
        description="A month '2024-03', fiscal year 'FY2023', half 'FY2023-H1' or quarter "
        "'FY2023-Q1'."
    ),
]


def _timestamp_text(value: object) -> object:
    """Refuse JSON numbers: an epoch is ambiguous (seconds or milliseconds) and not ISO 8601."""
    if isinstance(value, (bool, int, float, Decimal)):
        raise PydanticCustomError(
            "timestamp_type", "expected an ISO 8601 timestamp string", {"input": value}
        )
    return value


Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_timestamp_text),
    Field(description="ISO 8601 with a UTC offset; naive timestamps are rejected."),
]
Money = Annotated[
    Decimal,
    Field(
        ge=0,
        max_digits=18,
        decimal_places=4,
        allow_inf_nan=False,
        description="A non-negative decimal, as a JSON string or number (never float arithmetic).",
    ),
]


def _date_from_timestamp(value: object) -> object:
    """Accept a plain date, or an aware timestamp taken at its own local date."""
    if isinstance(value, (bool, int, float, Decimal)):
        raise PydanticCustomError("date_type", "expected a date string", {"input": value})
    # Anything longer than YYYY-MM-DD is a timestamp, whatever its separator ('T' or ' '):
    # a naive one must be refused, not read as a date.
    if isinstance(value, str) and len(value) > len("YYYY-MM-DD"):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value  # left for the date parser to reject with its own message
        if parsed.tzinfo is None:
            raise PydanticCustomError(
                "timezone_aware", "Input should have timezone info", {"input": value}
            )
        return parsed.date()
    return value


DateOrTimestamp = Annotated[
    date,
    BeforeValidator(_date_from_timestamp),
    Field(
        description="A date 'YYYY-MM-DD', or an ISO 8601 timestamp with an offset (its local date)."
    ),
]


class Channel(StrEnum):
    FACE_TO_FACE = "face_to_face"
    ONLINE = "online"
    PHONE = "phone"
    MAIL = "mail"
    BANK = "bank"
    OTHER = "other"
