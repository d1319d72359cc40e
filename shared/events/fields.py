"""Annotated field types of the event contract (DESIGN §3 and §9).

Each type carries its own rule so that every event states the same rule the same way, and
the JSON Schema generated from the models documents it.
"""

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Final

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

IDENTIFIER_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
EVENT_ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
SOURCE_PATTERN: Final = r"^[a-z][a-z0-9_.-]{0,63}$"
CURRENCY_PATTERN: Final = r"^[A-Z]{3}$"
CODE_PATTERN: Final = r"^[a-z][a-z0-9_]{0,63}$"
PHONE_PATTERN: Final = r"^\+?[0-9][0-9 ()-]{5,24}$"
# A phone field may also carry the hash ingest made of it (shared.events.canonical's
# PhoneHash): a dead letter keeps its phones hashed, and a re-driven one must still read.
UPSTREAM_PHONE_PATTERN: Final = r"^(\+?[0-9][0-9 ()-]{5,24}|hmac-sha256:[0-9a-f]{64})$"
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
    StringConstraints(pattern=UPSTREAM_PHONE_PATTERN),
    Field(
        description=(
            "Raw phone number at the edge only; ingest replaces it by a keyed hash and it is "
            "never stored or logged. A value that is already such a hash ('hmac-sha256:' and "
            "64 hex digits, as a re-driven dead letter carries) is kept as it is."
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


# The dates a policy or renewal can have. Periods are named by 4-digit years, and a 13-month
# anniversary must still be one: the hostile-input fuzzer's issued_at of 0001-01-01 and due
# dates in 9999 were accepted, then failed in scoring on every try.
EARLIEST_DATE: Final = date(1900, 1, 1)
LATEST_DATE: Final = date(2199, 12, 31)


def _within_dates(value: date) -> date:
    if value < EARLIEST_DATE:
        raise PydanticCustomError(
            "greater_than_equal",
            "Input should be greater than or equal to {ge}",
            {"ge": EARLIEST_DATE.isoformat()},
        )
    if value > LATEST_DATE:
        raise PydanticCustomError(
            "less_than_equal",
            "Input should be less than or equal to {le}",
            {"le": LATEST_DATE.isoformat()},
        )
    return value


DateOrTimestamp = Annotated[
    date,
    BeforeValidator(_date_from_timestamp),
    AfterValidator(_within_dates),
    Field(
        description=(
            "A date 'YYYY-MM-DD', or an ISO 8601 timestamp with an offset (its local date), "
            "from 1900-01-01 to 2199-12-31."
        )
    ),
]


class Channel(StrEnum):
    FACE_TO_FACE = "face_to_face"
    ONLINE = "online"
    PHONE = "phone"
    MAIL = "mail"
    BANK = "bank"
    OTHER = "other"


class SurveyChannel(StrEnum):
    """How a survey reached the customer: survey tools send SMS, e-mail, web and app surveys."""

    SMS = "sms"
    EMAIL = "email"
    WEB = "web"
    APP = "app"
    PHONE = "phone"
    FACE_TO_FACE = "face_to_face"
    MAIL = "mail"
    PAPER = "paper"
    OTHER = "other"


# Surveys took the sales `Channel` until they had a list of their own. The two sales values
# with no survey counterpart still read, so that producers written against that contract and
# the surveys already on kpi.events.v1 (re-read by scoring and alerts) stay valid.
SURVEY_CHANNEL_OF_SALES_VALUE: Final[Mapping[str, SurveyChannel]] = MappingProxyType(
    {"online": SurveyChannel.WEB, "bank": SurveyChannel.OTHER}
)


def _survey_channel_from_sales_value(value: object) -> object:
    if isinstance(value, str):
        return SURVEY_CHANNEL_OF_SALES_VALUE.get(value, value)
    return value


# The published schema keeps accepting every document it accepted before (the two sales
# values, marked deprecated), since a producer may validate against it before sending.
_SURVEY_CHANNEL_SCHEMA: Final = {
    "title": "SurveyChannel",
    "description": SurveyChannel.__doc__,
    "anyOf": [
        {"type": "string", "enum": [member.value for member in SurveyChannel]},
        {
            "type": "string",
            "enum": list(SURVEY_CHANNEL_OF_SALES_VALUE),
            "deprecated": True,
            "description": "Sales-channel values surveys took before they had their own list; "
            + ", ".join(
                f"'{sales}' is read as '{survey.value}'"
                for sales, survey in SURVEY_CHANNEL_OF_SALES_VALUE.items()
            )
            + ".",
        },
    ],
}

SurveyChannelField = Annotated[
    SurveyChannel,
    BeforeValidator(_survey_channel_from_sales_value),
    WithJsonSchema(_SURVEY_CHANNEL_SCHEMA, mode="validation"),
]
"""A survey's `channel`: a `SurveyChannel`, or a sales value it replaced, read as its successor."""
