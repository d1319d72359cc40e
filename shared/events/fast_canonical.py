"""Fast paths for `kpi.events.v1` (msgspec) beside the `KpiEvent` model, which stays the contract.

- `CanonicalDocument` is a canonical event as ingest holds it on its hot path: the values of
  `KpiEvent`'s fields in its order, written by msgspec byte for byte as `model_dump_json`
  writes the model (tests/unit/events/test_fast_paths.py holds them to it).
- `decode_kpi_event` reads a record of `kpi.events.v1` into the same `KpiEvent` that
  `KpiEvent.model_validate_json` gives, built without validating it again (ingest wrote it) but
  checked as the model checks it; for anything unusual it asks the model, which decides, so a
  record that is not a canonical event is None either way.
"""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, Literal, NamedTuple, cast

import msgspec
from msgspec import Meta, Struct
from pydantic import TypeAdapter, ValidationError

from .base import UpstreamEvent
from .canonical import PHONE_HASH_PATTERN, UTC_OFFSET_PATTERN, EventOrg, KpiEvent
from .fast_formats import strict_pattern, timestamp
from .fast_upstream import FastUpstream, Identifier, UpstreamStruct, read_event
from .upstream import MODELS_BY_EVENT_TYPE, AnyUpstreamEvent

PhoneHash = Annotated[str, Meta(pattern=strict_pattern(PHONE_HASH_PATTERN))]
UtcOffset = Annotated[str, Meta(pattern=strict_pattern(UTC_OFFSET_PATTERN))]
_ZERO: Final = timedelta(0)
_AWARE: Final = TypeAdapter(datetime)


def json_datetime(moment: datetime) -> str:
    """An aware timestamp as pydantic writes it ('Z' for UTC)."""
    if moment.utcoffset() == _ZERO:
        return moment.replace(tzinfo=None).isoformat() + "Z"
    return str(_AWARE.dump_python(moment, mode="json"))


class CanonicalDocument(NamedTuple):
    """A canonical event as `KpiEvent`'s field values, with what the pipeline reads of it (a
    named tuple: one is made per record)."""

    values: dict[str, Any]
    """`KpiEvent`'s fields in its order; `watermark` is set when it is written."""
    key: str
    event_type: str
    event_id: str
    owner: str
    """The event's `agent_id`, or its `branch_id` for a branch's own event."""
    occurred_at: datetime
    """In UTC."""

    @classmethod
    def of(cls, event: KpiEvent) -> "CanonicalDocument":
        """The document of a model (the slow path)."""
        upstream = event.event
        return cls(
            event.model_dump(mode="json"),
            event.key,
            upstream.event_type,
            upstream.event_id,
            upstream.agent_id or upstream.branch_id or "",
            upstream.occurred_at,
        )

    def encode(self, watermark: datetime | None = None) -> bytes:
        """The JSON of `kpi.events.v1`, stamped with `watermark`."""
        if watermark is None:
            return msgspec.json.encode(self.values)
        return msgspec.json.encode({**self.values, "watermark": json_datetime(watermark)})

    def model(self) -> KpiEvent:
        """The document as its model, validated (for tests and tools, not the hot path)."""
        return KpiEvent.model_validate_json(self.encode(self.watermark))

    @property
    def watermark(self) -> datetime | None:
        stamp = self.values.get("watermark")
        return (
            stamp if isinstance(stamp, datetime) or stamp is None else _AWARE.validate_python(stamp)
        )


class _Org(Struct, forbid_unknown_fields=True):
    company: Identifier
    region: Identifier
    branch: Identifier
    team: Identifier | None = None
    agent: Identifier | None = None


class _KpiEvent(Struct, kw_only=True, forbid_unknown_fields=True):
    schema_version: Literal[1] = 1
    key: Annotated[str, Meta(min_length=3)]
    event: UpstreamStruct
    occurred_at_offset: UtcOffset
    callback_phone_hash: PhoneHash | None = None
    agent_phone_hash: PhoneHash | None = None
    org: _Org
    received_at: str
    source_topic: Annotated[str, Meta(min_length=1)]
    source_partition: Annotated[int, Meta(ge=0)]
    source_offset: Annotated[int, Meta(ge=0)]
    source_timestamp: str | None = None
    watermark: str | None = None


_DECODER: Final = msgspec.json.Decoder(_KpiEvent)


def decode_kpi_event(raw: bytes) -> KpiEvent | None:
    """A record of `kpi.events.v1` as its `KpiEvent`, or None when it is not one."""
    try:
        fast = _fast(_DECODER.decode(raw))
    except (msgspec.DecodeError, msgspec.ValidationError):
        fast = None
    if fast is not None:
        return fast
    try:
        return KpiEvent.model_validate_json(raw)
    except ValidationError:
        return None


def _optional_time(text: str | None) -> tuple[bool, datetime | None]:
    if text is None:
        return True, None
    moment = timestamp(text)
    return moment is not None, moment


def _fast(document: _KpiEvent) -> KpiEvent | None:
    """The model built from checked parts, or None for the model to decide."""
    upstream = read_event(document.event)
    received_at = timestamp(document.received_at)
    read_source, source_timestamp = _optional_time(document.source_timestamp)
    read_watermark, watermark = _optional_time(document.watermark)
    if upstream is None or received_at is None or not (read_source and read_watermark):
        return None
    org = document.org
    if not _consistent(document, upstream, org):
        return None
    event = cast("AnyUpstreamEvent", upstream_model(upstream))
    return KpiEvent.model_construct(
        schema_version=1,
        key=document.key,
        event=event,
        occurred_at_offset=document.occurred_at_offset,
        callback_phone_hash=document.callback_phone_hash,
        agent_phone_hash=document.agent_phone_hash,
        org=EventOrg.model_construct(
            company=org.company,
            region=org.region,
            branch=org.branch,
            team=org.team,
            agent=org.agent,
        ),
        received_at=received_at.astimezone(UTC),
        source_topic=document.source_topic,
        source_partition=document.source_partition,
        source_offset=document.source_offset,
        source_timestamp=source_timestamp,
        watermark=watermark,
    )


def _consistent(document: _KpiEvent, upstream: FastUpstream, org: _Org) -> bool:
    """`KpiEvent`'s and `EventOrg`'s own rules (key, UTC, no raw phone, owner)."""
    fields = upstream.fields
    if (org.team is None) != (org.agent is None):
        return False
    if document.key != f"{upstream.source}:{upstream.event_id}":
        return False
    if upstream.occurred_at.utcoffset() != _ZERO:
        return False
    if fields.get("callback_phone") is not None or fields.get("agent_phone") is not None:
        return False
    if upstream.agent_id is not None:
        return org.agent == upstream.agent_id
    return org.agent is None and org.branch == upstream.branch_id


def upstream_model(upstream: FastUpstream) -> UpstreamEvent:
    """The upstream model of a fast-read event, built without validating it again."""
    return MODELS_BY_EVENT_TYPE[upstream.event_type].model_construct(**upstream.fields)
