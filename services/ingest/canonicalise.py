"""A validated upstream event becomes the canonical `KpiEvent` of `kpi.events.v1`; pure."""

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.config import OrgPath
from shared.events import (
    AssessmentEvent,
    ComplaintEvent,
    EventOrg,
    KpiEvent,
    PolicyEvent,
    RenewalEvent,
    SurveyEvent,
    TrainingEvent,
    UpstreamEvent,
    utc_offset_text,
)
from shared.events.fast_canonical import CanonicalDocument
from shared.events.fast_upstream import FastUpstream

from .phones import PhoneHasher

_EVENT_TYPES = (
    PolicyEvent,
    RenewalEvent,
    ComplaintEvent,
    SurveyEvent,
    AssessmentEvent,
    TrainingEvent,
)


def canonicalise(
    event: UpstreamEvent,
    *,
    org: OrgPath | EventOrg,
    hasher: PhoneHasher,
    received_at: datetime,
    source_topic: str,
    source_partition: int,
    source_offset: int,
    default_currency: str = "JPY",
    source_timestamp: datetime | None = None,
    roster_phone: str | None = None,
) -> KpiEvent:
    """The canonical event: UTC `occurred_at` with its offset kept, phones hashed, org attached.

    `org` is the owner's path from the org chart (agent, or branch for a branch's own event).
    Raises `ValueError` for a phone number that cannot be normalised (the validated contract
    pattern makes that unlikely) and `pydantic.ValidationError` if the org path is not the
    event's owner; both mean the caller passed something wrong, not a bad message.
    `roster_phone` is the agent's phone in the org chart on the event's date: a survey that does
    not carry `agent_phone` is compared against it for own-phone callbacks.
    """
    return KpiEvent(
        **_fields(event, hasher, default_currency, roster_phone),
        org=EventOrg.model_validate(org, from_attributes=True),
        received_at=received_at,
        source_topic=source_topic,
        source_partition=source_partition,
        source_offset=source_offset,
        source_timestamp=source_timestamp,
    )


def canonicalise_resolved(
    event: UpstreamEvent,
    *,
    org: EventOrg,
    hasher: PhoneHasher,
    received_at: datetime,
    source_topic: str,
    source_partition: int,
    source_offset: int,
    default_currency: str = "JPY",
    source_timestamp: datetime | None = None,
    roster_phone: str | None = None,
) -> KpiEvent:
    """`canonicalise` for triage, which holds only validated parts: the same event, built
    without validating them a second time (it was about a fifth of ingest's CPU).

    The caller guarantees what `KpiEvent`'s validation would check: `event` is a validated v1
    model, `org` a validated `EventOrg` resolved from the event's own `agent_id` or `branch_id`,
    both timestamps aware, the source position non-negative. The rest is made here the way
    validation would leave it: `occurred_at` and `received_at` in UTC, the offset text, phones
    hashed by the hasher (which raises `ValueError`) and the raw numbers removed.
    """
    return KpiEvent.model_construct(
        **_fields(event, hasher, default_currency, roster_phone),
        org=org,
        received_at=received_at.astimezone(UTC),
        source_topic=source_topic,
        source_partition=source_partition,
        source_offset=source_offset,
        source_timestamp=source_timestamp,
    )


def _fields(
    event: UpstreamEvent, hasher: PhoneHasher, default_currency: str, roster_phone: str | None
) -> dict[str, Any]:
    """The key, the event in UTC without raw phones, the offset text and the phone hashes."""
    if not isinstance(event, _EVENT_TYPES):
        raise TypeError(f"expected a v1 event model, got {type(event).__name__}")
    changes: dict[str, object] = {"occurred_at": event.occurred_at.astimezone(UTC)}
    if isinstance(event, RenewalEvent) and event.currency is None:
        # Money always travels with its currency; a renewal desk may leave out the company's own.
        changes["currency"] = default_currency
    callback_hash = agent_hash = None
    if isinstance(event, SurveyEvent):
        if event.callback_phone is not None:
            callback_hash = hasher.hash(event.callback_phone)
        # The agent's own number: as the survey tool saw it, else the roster's (org.yaml).
        agent_phone = event.agent_phone if event.agent_phone is not None else roster_phone
        if agent_phone is not None:
            agent_hash = hasher.hash(agent_phone)
        # Raw numbers leave here: only their hashes travel on.
        changes |= {"callback_phone": None, "agent_phone": None}
    return {
        "key": f"{event.source}:{event.event_id}",
        "event": event.model_copy(update=changes),
        "occurred_at_offset": utc_offset_text(event.occurred_at),
        "callback_phone_hash": callback_hash,
        "agent_phone_hash": agent_hash,
    }


def canonical_document(
    upstream: FastUpstream,
    *,
    org: dict[str, Any],
    hasher: PhoneHasher,
    received_at: datetime,
    source_topic: str,
    source_partition: int,
    source_offset: int,
    default_currency: str,
    source_timestamp: datetime | None,
    roster_phone: str | None,
) -> CanonicalDocument:
    """What `canonicalise_resolved` makes of the same event, as the document ingest writes,
    from an event the fast reader accepted (`shared/events/fast_upstream.py`).

    `org` is the owner's path as `EventOrg`'s values, resolved from the event's own owner;
    `received_at` is in UTC. Raises `ValueError` for a phone number the hasher refuses.
    """
    values = upstream.fields
    occurred_at = upstream.occurred_at.astimezone(UTC)
    values["occurred_at"] = occurred_at
    callback_hash = agent_hash = None
    if upstream.event_type == "renewal":
        if values["currency"] is None:
            values["currency"] = default_currency
    elif upstream.event_type == "survey":
        callback = values["callback_phone"]
        if callback is not None:
            callback_hash = hasher.hash(callback)
        agent_phone = values["agent_phone"]
        if agent_phone is None:
            agent_phone = roster_phone
        if agent_phone is not None:
            agent_hash = hasher.hash(agent_phone)
        values["callback_phone"] = values["agent_phone"] = None
    key = f"{upstream.source}:{upstream.event_id}"
    document = {
        "schema_version": 1,
        "key": key,
        "event": values,
        "occurred_at_offset": _offset_text(upstream.occurred_at),
        "callback_phone_hash": callback_hash,
        "agent_phone_hash": agent_hash,
        "org": org,
        "received_at": received_at,
        "source_topic": source_topic,
        "source_partition": source_partition,
        "source_offset": source_offset,
        "source_timestamp": source_timestamp,
        "watermark": None,
    }
    owner = upstream.agent_id if upstream.agent_id is not None else upstream.branch_id
    return CanonicalDocument(
        document, key, upstream.event_type, upstream.event_id, owner or "", occurred_at
    )


_OFFSET_TEXTS: dict[timedelta | None, str] = {}


def _offset_text(moment: datetime) -> str:
    """`utc_offset_text`, remembered per offset: a stream has a handful of them."""
    offset = moment.utcoffset()
    text = _OFFSET_TEXTS.get(offset)
    if text is None:
        text = utc_offset_text(moment)
        if len(_OFFSET_TEXTS) < 1_000:
            _OFFSET_TEXTS[offset] = text
    return text
