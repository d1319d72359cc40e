"""A fast reader of `kpi.events.v1` (msgspec) for scoring's hot path, beside `KpiEvent`.

`decode_kpi_event` gives the same `KpiEvent` that `KpiEvent.model_validate_json` gives, built
without validating it again: ingest validated every event it wrote. msgspec reads the shape
and the types in C (every field, no unknown one, strings, numbers, timestamps with an offset,
dates, decimals, the enums' values, the literals); the rules between fields that a consumer
relies on are checked here (the key is `source:event_id`, `occurred_at` in UTC, no raw phone,
the org path is the owner's, exactly one owner, an issue date for a termination, a score within
its scale). What it does not check again are the text patterns and numeric bounds of single
fields (an identifier's characters, a premium's digits): a record that breaks only those was
not written by ingest, and is read as it stands.

A record msgspec cannot read into that shape goes to the model, which decides: a record that is
not a canonical event is None either way (tests/unit/events/test_fast_paths.py).
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Final, Literal, TypeVar

import msgspec
from msgspec import Meta, Struct
from pydantic import BaseModel, ValidationError

from .canonical import EventOrg, KpiEvent
from .fast_formats import timestamp
from .fields import Channel, SurveyChannel
from .upstream import (
    ACTIONS_NEEDING_ISSUE_DATE,
    MODELS_BY_EVENT_TYPE,
    SCALE_RANGES,
    ComplaintAction,
    ComplaintKind,
    PolicyAction,
    RenewalAction,
)

# Timestamps are read as text and parsed in the strict form ingest writes them in: msgspec's
# own parser rounds a seventh fraction digit where pydantic's truncates it.
Aware = str
# Ingest writes decimals as strings. A JSON number is left to the model: pydantic reads it
# through a float (-0.0 becomes Decimal('-0')), msgspec exactly.
DecimalText = str
_DECIMALS: Final = {"premium", "score", "hours"}
M = TypeVar("M", bound=BaseModel)
_ZERO: Final = timedelta(0)


class _Event(Struct, kw_only=True, forbid_unknown_fields=True, tag_field="event_type"):
    event_id: str
    occurred_at: Aware
    source: str
    schema_version: Literal[1]
    agent_id: str | None = None
    branch_id: str | None = None


class _Policy(_Event, kw_only=True, tag="policy"):
    policy_id: str
    customer_id: str
    action: PolicyAction
    product_line: str
    premium: DecimalText
    currency: str
    channel: Channel
    new_business: bool = False
    referral: bool = False
    issued_at: date | None = None


class _Renewal(_Event, kw_only=True, tag="renewal"):
    renewal_id: str
    policy_id: str
    action: RenewalAction
    due_date: date
    premium: DecimalText
    currency: str | None = None
    channel: Channel


class _Complaint(_Event, kw_only=True, tag="complaint"):
    case_id: str
    kind: ComplaintKind
    action: ComplaintAction
    category: str
    policy_id: str | None = None


class _Survey(_Event, kw_only=True, tag="survey"):
    response_id: str
    policy_id: str
    customer_id: str
    scale: Literal[5, 10, 100]
    score: DecimalText
    channel: SurveyChannel
    callback_phone: None = None
    agent_phone: None = None


class _Assessment(_Event, kw_only=True, tag="assessment"):
    assessment_id: str
    period: str
    score: DecimalText
    assessor_id: str | None = None


class _Training(_Event, kw_only=True, tag="training"):
    session_id: str
    course: str
    hours: DecimalText


class _Org(Struct, forbid_unknown_fields=True):
    company: str
    region: str
    branch: str
    team: str | None = None
    agent: str | None = None


class _KpiEvent(Struct, kw_only=True, forbid_unknown_fields=True):
    schema_version: Literal[1] = 1
    key: str
    event: _Policy | _Renewal | _Complaint | _Survey | _Assessment | _Training
    occurred_at_offset: str
    callback_phone_hash: str | None = None
    agent_phone_hash: str | None = None
    org: _Org
    received_at: Aware
    source_topic: str
    source_partition: Annotated[int, Meta(ge=0)]
    source_offset: Annotated[int, Meta(ge=0)]
    source_timestamp: Aware | None = None
    watermark: Aware | None = None


_DECODER: Final = msgspec.json.Decoder(_KpiEvent)
# Each event's fields in its model's order (the model's __dict__ keeps that order).
_ORDER: Final = {name: tuple(model.model_fields) for name, model in MODELS_BY_EVENT_TYPE.items()}


def decode_kpi_event(raw: bytes) -> KpiEvent | None:
    """A record of `kpi.events.v1` as its `KpiEvent`, or None when it is not one."""
    try:
        document = _DECODER.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        document = None
    if document is not None:
        try:
            times = _times(document)
            if _consistent(document, times[0]):
                return _model(document, *times)
        except (_NotRead, OverflowError, InvalidOperation):
            pass  # not in ingest's form, not a decimal, or at the calendar's edge
    try:
        return KpiEvent.model_validate_json(raw)
    except ValidationError:
        return None


class _LastTime:
    """`timestamp` of the text read last: every event of an ingest batch has the same
    `received_at` and `watermark`, and many the same `source_timestamp`."""

    def __init__(self) -> None:
        self._last: tuple[str, datetime | None] = ("", None)

    def __call__(self, text: str | None) -> datetime | None:
        if text is None:
            return None
        last_text, last = self._last
        if text != last_text:
            last = timestamp(text)
            self._last = (text, last)
        return last


_RECEIVED_AT: Final = _LastTime()
_SOURCE_TIMESTAMP: Final = _LastTime()
_WATERMARK: Final = _LastTime()


def _times(document: _KpiEvent) -> tuple[datetime, datetime, datetime | None, datetime | None]:
    """`occurred_at`, `received_at`, `source_timestamp`, `watermark`; `_NOT_READ` for the
    model to read when one is not in the strict form."""
    occurred_at = timestamp(document.event.occurred_at)
    received_at = _RECEIVED_AT(document.received_at)
    source_timestamp = _SOURCE_TIMESTAMP(document.source_timestamp)
    watermark = _WATERMARK(document.watermark)
    if (
        occurred_at is None
        or received_at is None
        or (source_timestamp is None and document.source_timestamp is not None)
        or (watermark is None and document.watermark is not None)
    ):
        raise _NotRead
    return occurred_at, received_at, source_timestamp, watermark


class _NotRead(Exception):
    """Left to the model."""


def _consistent(document: _KpiEvent, occurred_at: datetime) -> bool:
    """The rules between fields of `KpiEvent`, `EventOrg` and the upstream models."""
    event, org = document.event, document.org
    if (event.agent_id is None) == (event.branch_id is None):
        return False
    if (org.team is None) != (org.agent is None):
        return False
    if event.agent_id is not None:
        if org.agent != event.agent_id:
            return False
    elif org.agent is not None or org.branch != event.branch_id:
        return False
    if document.key != f"{event.source}:{event.event_id}" or len(document.key) < 3:
        return False
    if occurred_at.utcoffset() != _ZERO or not document.source_topic:
        return False
    if isinstance(event, _Policy):
        return event.issued_at is not None or event.action not in ACTIONS_NEEDING_ISSUE_DATE
    if isinstance(event, _Survey):
        low, high = SCALE_RANGES[event.scale]
        try:
            return low <= Decimal(event.score) <= high
        except InvalidOperation:
            return False
    return True


def _model(
    document: _KpiEvent,
    occurred_at: datetime,
    received_at: datetime,
    source_timestamp: datetime | None,
    watermark: datetime | None,
) -> KpiEvent:
    event = document.event
    tag = str(type(event).__struct_config__.tag)
    values = {name: tag if name == "event_type" else getattr(event, name) for name in _ORDER[tag]}
    values["occurred_at"] = occurred_at
    for name in _DECIMALS.intersection(values):
        values[name] = Decimal(values[name])
    # The other two structs have the models' fields in the models' order.
    canonical = msgspec.structs.asdict(document)
    canonical["received_at"] = received_at.astimezone(UTC)  # as its validator does
    canonical["source_timestamp"] = source_timestamp
    canonical["watermark"] = watermark
    canonical["event"] = _constructed(MODELS_BY_EVENT_TYPE[tag], values)
    canonical["org"] = _constructed(EventOrg, msgspec.structs.asdict(document.org))
    return _constructed(KpiEvent, canonical)


_set: Final = object.__setattr__


def _constructed(model: type[M], values: dict[str, Any]) -> M:
    """`model.model_construct(**values)` for a value of every field, in the model's order: what
    it sets, without its loop over the fields (10 µs a model, more than msgspec's decoding)."""
    instance = model.__new__(model)
    _set(instance, "__dict__", values)
    _set(instance, "__pydantic_fields_set__", set(values))
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance
