"""The v1 event contract: upstream events, their field rules and the decoder."""

from .base import SCHEMA_VERSION, UpstreamEvent
from .canonical import PHONE_HASH_PREFIX, EventOrg, KpiEvent, utc_offset_text
from .decoding import (
    MAX_MESSAGE_BYTES,
    ContractViolation,
    RejectReason,
    decode_upstream,
    parse_document,
    validate_document,
)
from .fields import Channel, SurveyChannel
from .upstream import (
    MODELS_BY_EVENT_TYPE,
    AnyUpstreamEvent,
    AssessmentEvent,
    ComplaintAction,
    ComplaintEvent,
    ComplaintKind,
    PolicyAction,
    PolicyEvent,
    RenewalAction,
    RenewalEvent,
    SurveyEvent,
    TrainingEvent,
)

__all__ = [
    "MAX_MESSAGE_BYTES",
    "MODELS_BY_EVENT_TYPE",
    "PHONE_HASH_PREFIX",
    "SCHEMA_VERSION",
    "AnyUpstreamEvent",
    "AssessmentEvent",
    "Channel",
    "ComplaintAction",
    "ComplaintEvent",
    "ComplaintKind",
    "ContractViolation",
    "EventOrg",
    "KpiEvent",
    "PolicyAction",
    "PolicyEvent",
    "RejectReason",
    "RenewalAction",
    "RenewalEvent",
    "SurveyChannel",
    "SurveyEvent",
    "TrainingEvent",
    "UpstreamEvent",
    "decode_upstream",
    "parse_document",
    "utc_offset_text",
    "validate_document",
]
