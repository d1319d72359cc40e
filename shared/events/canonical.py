"""The canonical event on `kpi.events.v1`: what ingest publishes and scoring reads (DESIGN §2).

An upstream event becomes canonical once it is validated, its code lists are mapped to the
canonical enums, its timestamp is in UTC (the original offset kept beside it), its raw phone
numbers are replaced by keyed hashes and its owner's place in the hierarchy is attached.
The JSON form keeps money exact: pydantic writes every Decimal as a string.
"""

import functools
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Final, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .fields import Identifier
from .upstream import AnyUpstreamEvent, SurveyEvent

PHONE_HASH_PREFIX: Final = "hmac-sha256:"
PHONE_HASH_PATTERN: Final = r"^hmac-sha256:[0-9a-f]{64}$"
UTC_OFFSET_PATTERN: Final = r"^[+-](0\d|1\d|2[0-3]):[0-5]\d(:[0-5]\d)?$"

PhoneHash = Annotated[
    str,
    StringConstraints(pattern=PHONE_HASH_PATTERN),
    Field(
        description="Keyed HMAC-SHA256 of the normalised phone number (KPI_PHONE_HASH_KEY), "
        "'hmac-sha256:' and 64 hex digits; equal numbers give equal hashes."
    ),
]
UtcOffset = Annotated[
    str,
    StringConstraints(pattern=UTC_OFFSET_PATTERN),
    Field(description="The UTC offset the event was sent with, e.g. '+09:00'."),
]


def utc_offset_text(moment: datetime) -> str:
    """The UTC offset of an aware timestamp as ISO 8601 text: '+09:00', '-05:30', '+00:00'."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError(f"timestamp {moment.isoformat()} has no UTC offset")
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}"
    # Seconds only when present, so the usual offsets read exactly as publishers wrote them.
    return f"{text}:{seconds:02d}" if seconds else text


def _offset_from_text(text: str) -> timedelta:
    sign = -1 if text.startswith("-") else 1
    hours, minutes, seconds = (int(part) for part in (text[1:] + ":00").split(":")[:3])
    return sign * timedelta(hours=hours, minutes=minutes, seconds=seconds)


class EventOrg(BaseModel):
    """Where the event's owner sat in the hierarchy when ingest read it (plain ids)."""

    # from_attributes: a `shared.config.OrgPath` (a dataclass) validates as it is.
    model_config = ConfigDict(frozen=True, extra="forbid", from_attributes=True)

    company: Identifier
    region: Identifier
    branch: Identifier
    team: Identifier | None = None
    agent: Identifier | None = None

    @model_validator(mode="after")
    def _agent_with_team(self) -> Self:
        if (self.team is None) != (self.agent is None):
            raise PydanticCustomError(
                "org_path",
                "team and agent are given together (an agent's event) or both left out "
                "(a branch's own event)",
            )
        return self

    def entities(self) -> tuple[str, ...]:
        """The path top-down as LEVEL:ID, e.g. ('company:ACME', ..., 'agent:A0001')."""
        return _path(self.company, self.region, self.branch, self.team, self.agent)


@functools.lru_cache(maxsize=65_536)
def _path(
    company: str, region: str, branch: str, team: str | None, agent: str | None
) -> tuple[str, ...]:
    """An org path's entities, built once per path: scoring asks for them several times for
    every event (6% of its CPU when built each time), and a company has a few thousand."""
    levels = (
        ("company", company),
        ("region", region),
        ("branch", branch),
        ("team", team),
        ("agent", agent),
    )
    return tuple(f"{level}:{entity}" for level, entity in levels if entity is not None)


class KpiEvent(BaseModel):
    """A validated, normalised upstream event as ingest publishes it: UTC time, hashed phones."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    key: Annotated[
        str,
        Field(
            min_length=3,
            description="The de-duplication key, '{source}:{event_id}' of the upstream event.",
        ),
    ]
    event: AnyUpstreamEvent
    occurred_at_offset: UtcOffset
    callback_phone_hash: PhoneHash | None = None
    agent_phone_hash: PhoneHash | None = None
    org: EventOrg
    received_at: Annotated[
        AwareDatetime, Field(description="When ingest read the upstream record, in UTC.")
    ]
    source_topic: Annotated[
        str, Field(min_length=1, description="The upstream topic the record came from.")
    ]
    source_partition: Annotated[int, Field(ge=0)]
    source_offset: Annotated[int, Field(ge=0)]
    source_timestamp: Annotated[
        AwareDatetime | None,
        Field(description="The upstream record's broker timestamp (for latency measurement)."),
    ] = None
    watermark: Annotated[
        AwareDatetime | None,
        Field(
            description=(
                "Ingest's low watermark when it read this event's batch: every upstream "
                "partition had been read up to this event time, so every on-time event up to "
                "it was published before this one. Absent while ingest is still waiting for a "
                "partition to deliver. Scoring closes periods by it (docs/scoring.md)."
            )
        ),
    ] = None

    @field_validator("received_at")
    @classmethod
    def _received_in_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        # Each rule guards a downstream promise: de-duplication by key, UTC arithmetic on
        # windows, no raw phone number on an internal topic, counters rolled up to the owner.
        event = self.event
        expected_key = f"{event.source}:{event.event_id}"
        if self.key != expected_key:
            raise PydanticCustomError(
                "event_key",
                "key: expected '{expected}' (source:event_id of the event), got '{key}'",
                {"expected": expected_key, "key": self.key},
            )
        if event.occurred_at.utcoffset() != timedelta(0):
            raise PydanticCustomError(
                "utc_required",
                "event.occurred_at: must be in UTC; the original offset goes in occurred_at_offset",
            )
        if isinstance(event, SurveyEvent) and (
            event.callback_phone is not None or event.agent_phone is not None
        ):
            raise PydanticCustomError(
                "raw_phone",
                "event: raw phone numbers must be replaced by callback_phone_hash and "
                "agent_phone_hash",
            )
        owner_matches = (
            self.org.agent == event.agent_id
            if event.agent_id is not None
            else self.org.agent is None and self.org.branch == event.branch_id
        )
        if not owner_matches:
            raise PydanticCustomError(
                "org_mismatch",
                "org: the path {entities} is not the event's owner {owner}",
                {"entities": " > ".join(self.org.entities()), "owner": event.org_key},
            )
        return self

    @property
    def occurred_at_local(self) -> datetime:
        """`event.occurred_at` at the offset it was sent with."""
        offset = _offset_from_text(self.occurred_at_offset)
        return self.event.occurred_at.astimezone(timezone(offset))
