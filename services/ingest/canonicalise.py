"""A validated upstream event becomes the canonical `KpiEvent` of `kpi.events.v1`; pure."""

from datetime import UTC, datetime
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
