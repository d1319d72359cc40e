"""The fiscal calendar settings of DESIGN §4 and §11 (`calendar.yaml`).

::

    fiscal_year_start_month: 4     # 1–12; 4 = fiscal year April–March (default)
    timezone: Asia/Tokyo           # IANA name; period boundaries are local midnights (default)
    allowed_lateness_days: 7       # ≥ 0; how long a closed period still accepts events (default)

Every key is optional; an empty file means the defaults.
"""

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Annotated, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from .issues import ConfigIssue, FieldHelp, InvalidConfig, issues_from

DEFAULT_TIMEZONE: Final = "Asia/Tokyo"

_ALLOWED_FIELDS: Final[Mapping[str, frozenset[str]]] = {
    "": frozenset({"fiscal_year_start_month", "timezone", "allowed_lateness_days"}),
}
_FIELD_HELP: Final[Mapping[str, FieldHelp]] = {
    "fiscal_year_start_month": FieldHelp(
        "4", "the month the fiscal year starts in, 1–12 (4 = April–March)"
    ),
    "timezone": FieldHelp("Asia/Tokyo"),
    "allowed_lateness_days": FieldHelp(
        "7", "days a closed period still accepts late events; 0 accepts none"
    ),
}


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise PydanticCustomError(
            "unknown_timezone",
            "unknown time zone '{name}'; use an IANA name such as 'Asia/Tokyo' or 'UTC'",
            {"name": name},
        ) from None


class CalendarConfig(BaseModel):
    """Fiscal year start, local time zone and allowed lateness; immutable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fiscal_year_start_month: Annotated[int, Field(ge=1, le=12, strict=True)] = 4
    timezone: Annotated[str, Field(strict=True)] = DEFAULT_TIMEZONE
    allowed_lateness_days: Annotated[int, Field(ge=0, strict=True)] = 7

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        _zone(value)
        return value

    @classmethod
    def from_document(cls, document: object, *, source: str = "calendar.yaml") -> "CalendarConfig":
        """Validate a parsed YAML/JSON document (None, an empty file, means the defaults)."""
        if document is None:
            document = {}
        if not isinstance(document, dict):
            raise InvalidConfig(
                source,
                [
                    ConfigIssue(
                        "",
                        "expected a mapping of fiscal_year_start_month, timezone and "
                        f"allowed_lateness_days, got a {type(document).__name__}",
                    )
                ],
            )
        try:
            return cls.model_validate(document)
        except ValidationError as exc:
            raise InvalidConfig(
                source, issues_from(exc, allowed_fields=_ALLOWED_FIELDS, field_help=_FIELD_HELP)
            ) from None

    @property
    def zone(self) -> ZoneInfo:
        """The local time zone (period boundaries are its midnights)."""
        return _zone(self.timezone)

    @property
    def allowed_lateness(self) -> timedelta:
        return timedelta(days=self.allowed_lateness_days)

    def local_date(self, moment: datetime) -> date:
        """The local calendar date of an aware timestamp (`ValueError` for a naive one)."""
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"timestamp {moment.isoformat()} has no UTC offset")
        return moment.astimezone(self.zone).date()

    def local_midnight(self, day: date) -> datetime:
        """The aware instant a local date starts at."""
        return datetime(day.year, day.month, day.day, tzinfo=self.zone)
