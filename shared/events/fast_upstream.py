"""A fast reader of the six upstream events (msgspec) for ingest's hot path, beside the models.

The pydantic models in `upstream.py` stay the contract: they generate the JSON Schema and the
AsyncAPI document, and they decide every rejection and its reason. This reader accepts a subset
of what they accept, reads it as they would, and returns None for anything else, so that the
caller asks the models (`parse_document`, `validate_document`): a record only takes the slow
path when it is unusual or wrong. tests/unit/events/test_fast_paths.py checks, over generated
documents, that whatever this reader accepts the models accept too, with the same values.

msgspec checks the JSON, the field names and types and the identifier patterns in C; the rest
(timestamps, dates, decimals, code lists, the rules between fields) is checked here.
"""

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Final, Literal, NamedTuple

import msgspec
from msgspec import Meta, Struct

from . import fields as f
from .fast_formats import (
    KnownValues,
    date_or_timestamp,
    plain_decimal,
    strict_pattern,
    timestamp,
)
from .upstream import (
    ACTIONS_NEEDING_ISSUE_DATE,
    MODELS_BY_EVENT_TYPE,
    SCALE_RANGES,
    ComplaintAction,
    ComplaintKind,
    PolicyAction,
    RenewalAction,
)

# Fields whose values are mostly new (ids of events, policies, customers) are checked by
# msgspec; those that repeat (owners, sources, currencies, codes) are read as text and checked
# against the values already seen (`KnownValues`).
Identifier = Annotated[str, Meta(pattern=strict_pattern(f.IDENTIFIER_PATTERN))]
EventId = Annotated[str, Meta(pattern=strict_pattern(f.EVENT_ID_PATTERN))]
Phone = Annotated[str, Meta(pattern=strict_pattern(f.UPSTREAM_PHONE_PATTERN))]
_KNOWN_IDENTIFIER: Final = KnownValues(f.IDENTIFIER_PATTERN)
_KNOWN_SOURCE: Final = KnownValues(f.SOURCE_PATTERN)
_KNOWN_CURRENCY: Final = KnownValues(f.CURRENCY_PATTERN)
_KNOWN_CODE: Final = KnownValues(f.CODE_PATTERN)
_KNOWN_PERIOD: Final = KnownValues(f.PERIOD_PATTERN)


class _Envelope(Struct, kw_only=True, forbid_unknown_fields=True, tag_field="event_type"):
    event_id: EventId
    occurred_at: str
    source: str
    schema_version: Literal[1]
    agent_id: str | None = None
    branch_id: str | None = None


class _Policy(_Envelope, kw_only=True, tag="policy"):
    policy_id: Identifier
    customer_id: Identifier
    action: str
    product_line: str
    premium: Any
    currency: str
    channel: str
    new_business: bool = False
    referral: bool = False
    issued_at: str | None = None


class _Renewal(_Envelope, kw_only=True, tag="renewal"):
    renewal_id: Identifier
    policy_id: Identifier
    action: str
    due_date: str
    premium: Any
    currency: str | None = None
    channel: str


class _Complaint(_Envelope, kw_only=True, tag="complaint"):
    case_id: Identifier
    kind: str
    action: str
    category: str
    policy_id: Identifier | None = None


class _Survey(_Envelope, kw_only=True, tag="survey"):
    response_id: Identifier
    policy_id: Identifier
    customer_id: Identifier
    scale: Literal[5, 10, 100]
    score: Any
    channel: str
    callback_phone: Phone | None = None
    agent_phone: Phone | None = None


class _Assessment(_Envelope, kw_only=True, tag="assessment"):
    assessment_id: Identifier
    period: str
    score: Any
    assessor_id: str | None = None


class _Training(_Envelope, kw_only=True, tag="training"):
    session_id: Identifier
    course: str
    hours: Any


UpstreamStruct = _Policy | _Renewal | _Complaint | _Survey | _Assessment | _Training
"""msgspec's form of the six events: the models' fields, coded fields as plain text."""
# parse_float=Decimal's twin: a JSON number with a fraction never passes through a float.
_DECODER: Final = msgspec.json.Decoder(UpstreamStruct, float_hook=Decimal)

Translate = Callable[[str, str, str], str]
"""(event_type, field, value) → the value the code lists give it (the value itself if none)."""

# The field order of each model: the canonical event's JSON follows it.
FIELD_ORDER: Final = {
    name: tuple(model.model_fields) for name, model in MODELS_BY_EVENT_TYPE.items()
}
# value → member: the models hold members, and msgspec writes a member as its value
_POLICY_ACTIONS: Final[dict[object, PolicyAction]] = {a.value: a for a in PolicyAction}
_RENEWAL_ACTIONS: Final[dict[object, RenewalAction]] = {a.value: a for a in RenewalAction}
_KINDS: Final[dict[object, ComplaintKind]] = {k.value: k for k in ComplaintKind}
_COMPLAINT_ACTIONS: Final[dict[object, ComplaintAction]] = {a.value: a for a in ComplaintAction}
_CHANNELS: Final[dict[object, f.Channel]] = {c.value: c for c in f.Channel}
_SURVEY_CHANNELS: Final[dict[object, f.SurveyChannel]] = {
    **{c.value: c for c in f.SurveyChannel},
    **dict(f.SURVEY_CHANNEL_OF_SALES_VALUE.items()),
}
_ZERO: Final = Decimal(0)
_HUNDRED: Final = Decimal(100)
_DAY_HOURS: Final = Decimal(24)


class FastUpstream(NamedTuple):
    """An upstream event the fast reader accepted (a named tuple: one is made per record)."""

    event_type: str
    event_id: str
    source: str
    agent_id: str | None
    branch_id: str | None
    occurred_at: datetime
    """As sent, with its offset."""
    fields: dict[str, Any]
    """The model's fields in its order, with the values validation gives them (members of the
    enums, `Decimal`, `date`, aware `datetime`); msgspec writes them as pydantic does."""


def read_upstream(raw: bytes, translate: Translate) -> FastUpstream | None:
    """The event in `raw`, or None when the models must decide (anything unusual or wrong)."""
    try:
        event = _DECODER.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        # RecursionError: nesting deeper than msgspec follows, inside an object it otherwise
        # reads (found by the hostile-input fuzzer); the slow path names it malformed_json.
        return None
    return read_event(event, translate)


def _same(event_type: str, field: str, value: str) -> str:
    return value


def read_event(event: "UpstreamStruct", translate: Translate = _same) -> FastUpstream | None:
    """An event msgspec decoded (on its own, or inside a canonical event), checked as the
    models check it after the code lists (`translate`) mapped its coded fields."""
    occurred_at = timestamp(event.occurred_at)
    if occurred_at is None or not _KNOWN_SOURCE(event.source):
        return None
    agent_id, branch_id = event.agent_id, event.branch_id
    if agent_id is None:
        if branch_id is None or not _KNOWN_IDENTIFIER(branch_id):
            return None
    elif branch_id is not None or not _KNOWN_IDENTIFIER(agent_id):
        return None
    values = _READERS[type(event)](event, translate)
    if values is None:
        return None
    tag = _tag(event)
    document = {
        "event_id": event.event_id,
        "occurred_at": occurred_at,
        "source": event.source,
        "schema_version": 1,
        "agent_id": event.agent_id,
        "branch_id": event.branch_id,
        "event_type": tag,
    }
    for name in FIELD_ORDER[tag][7:]:
        document[name] = values[name]
    return FastUpstream(
        tag, event.event_id, event.source, event.agent_id, event.branch_id, occurred_at, document
    )


def _tag(event: _Envelope) -> str:
    return str(type(event).__struct_config__.tag)


def _code(value: str) -> str | None:
    """An open code list's value (product line, category) when it is a valid code."""
    return value if _KNOWN_CODE(value) else None


def _policy(event: _Policy, translate: Translate) -> dict[str, Any] | None:
    action = _POLICY_ACTIONS.get(translate("policy", "action", event.action))
    channel = _CHANNELS.get(translate("policy", "channel", event.channel))
    product_line = _code(translate("policy", "product_line", event.product_line))
    premium = plain_decimal(event.premium, max_digits=18, decimal_places=4)
    issued_at: date | None = None
    if event.issued_at is not None:
        issued_at = date_or_timestamp(event.issued_at)
        if issued_at is None:
            return None
    if (
        action is None
        or channel is None
        or product_line is None
        or premium is None
        or not _KNOWN_CURRENCY(event.currency)
        or (issued_at is None and action in ACTIONS_NEEDING_ISSUE_DATE)
    ):
        return None
    return {
        "policy_id": event.policy_id,
        "customer_id": event.customer_id,
        "action": action,
        "product_line": product_line,
        "premium": premium,
        "currency": event.currency,
        "channel": channel,
        "new_business": event.new_business,
        "referral": event.referral,
        "issued_at": issued_at,
    }


def _renewal(event: _Renewal, translate: Translate) -> dict[str, Any] | None:
    action = _RENEWAL_ACTIONS.get(translate("renewal", "action", event.action))
    channel = _CHANNELS.get(translate("renewal", "channel", event.channel))
    due_date = date_or_timestamp(event.due_date)
    premium = plain_decimal(event.premium, max_digits=18, decimal_places=4)
    if action is None or channel is None or due_date is None or premium is None:
        return None
    if event.currency is not None and not _KNOWN_CURRENCY(event.currency):
        return None
    return {
        "renewal_id": event.renewal_id,
        "policy_id": event.policy_id,
        "action": action,
        "due_date": due_date,
        "premium": premium,
        "currency": event.currency,
        "channel": channel,
    }


def _complaint(event: _Complaint, translate: Translate) -> dict[str, Any] | None:
    kind = _KINDS.get(translate("complaint", "kind", event.kind))
    action = _COMPLAINT_ACTIONS.get(translate("complaint", "action", event.action))
    category = _code(translate("complaint", "category", event.category))
    if kind is None or action is None or category is None:
        return None
    return {
        "case_id": event.case_id,
        "kind": kind,
        "action": action,
        "category": category,
        "policy_id": event.policy_id,
    }


def _survey(event: _Survey, translate: Translate) -> dict[str, Any] | None:
    channel = _SURVEY_CHANNELS.get(translate("survey", "channel", event.channel))
    score = plain_decimal(event.score, max_digits=6, decimal_places=2)
    if channel is None or score is None:
        return None
    low, high = SCALE_RANGES[event.scale]
    if not low <= score <= high:
        return None
    return {
        "response_id": event.response_id,
        "policy_id": event.policy_id,
        "customer_id": event.customer_id,
        "scale": event.scale,
        "score": score,
        "channel": channel,
        "callback_phone": event.callback_phone,
        "agent_phone": event.agent_phone,
    }


def _assessment(event: _Assessment, translate: Translate) -> dict[str, Any] | None:
    score = plain_decimal(event.score, max_digits=5, decimal_places=2)
    if score is None or not _ZERO <= score <= _HUNDRED or not _KNOWN_PERIOD(event.period):
        return None
    if event.assessor_id is not None and not _KNOWN_IDENTIFIER(event.assessor_id):
        return None
    return {
        "assessment_id": event.assessment_id,
        "period": event.period,
        "score": score,
        "assessor_id": event.assessor_id,
    }


def _training(event: _Training, translate: Translate) -> dict[str, Any] | None:
    hours = plain_decimal(event.hours, max_digits=4, decimal_places=2)
    if hours is None or not _ZERO < hours <= _DAY_HOURS or not _KNOWN_CODE(event.course):
        return None
    return {"session_id": event.session_id, "course": event.course, "hours": hours}


_READERS: Final[dict[type[Any], Callable[[Any, Translate], dict[str, Any] | None]]] = {
    _Policy: _policy,
    _Renewal: _renewal,
    _Complaint: _complaint,
    _Survey: _survey,
    _Assessment: _assessment,
    _Training: _training,
}
